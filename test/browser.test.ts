// webccl in a real browser: Debian's headless chromium, WebGPU on its SwiftShader adapter, each
// tab one rank that joins through the rendezvous server's relay (a page cannot listen) with a
// `webccl://` id, exactly as a user's page would, from the built browser bundle. Fails, never
// skips, when chromium or its WebGPU adapter is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Communicator } from '../lib/comm/communicator.js';
import type { DataType, ElementArray } from '../lib/dtype.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { connectRelay } from '../lib/rendezvous/relay-client.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { Communicator as NodeCommunicator } from '../lib/index.node.js';
import type { StaticServer } from '../demo/static-server.js';
import { CHROMIUM_FLAGS, Chromium, type BrowserTab } from './helpers/browser.js';
import { serveTestPage } from './helpers/browser-page.js';
import { rankExpression, type RankJob, type RankOutcome, type RankRun } from './helpers/browser-rank.js';
import { allocate, inputFor, oracleReduce, sameElements } from './helpers/comm-world.js';
import { within } from './within.js';

const STEP_MS = 20_000;
const RANK_MS = 90_000;
const COMM_TIMEOUT_MS = 30_000;

/** Each case is one allReduce per rank; counts are odd so that no size is a lucky multiple. */
const CASES: readonly { dtype: 'float32' | 'int32'; op: 'sum' | 'avg'; placement: 'gpu' | 'array'; count: number }[] = [
  { dtype: 'float32', op: 'sum', placement: 'gpu', count: (1 << 18) + 3 },
  { dtype: 'float32', op: 'avg', placement: 'gpu', count: 1001 },
  { dtype: 'int32', op: 'sum', placement: 'array', count: 4099 },
];

// Launched by the first test that needs them, so that a launch failure fails every test with its
// own message (uvu swallows errors thrown by hooks); closed by the after hook whatever happened.
let chromium: Promise<Chromium> | undefined;
let page: Promise<StaticServer> | undefined;
const browser = () => (chromium ??= Chromium.launch(STEP_MS));
const pageUrl = async () => `${(await (page ??= serveTestPage())).origin}/`;

test.after(async () => {
  await Promise.allSettled([
    chromium?.then((c) => c.close()),
    page?.then((p) => p.close()),
  ]);
});

async function withTabs<T>(count: number, body: (tabs: BrowserTab[]) => Promise<T>): Promise<T> {
  const [b, url] = await Promise.all([browser(), pageUrl()]);
  const tabs: BrowserTab[] = [];
  try {
    for (let i = 0; i < count; i++) tabs.push(await b.openTab(url, STEP_MS));
    return await body(tabs);
  } finally {
    await Promise.allSettled(tabs.map((tab) => tab.close(STEP_MS)));
  }
}

async function withRendezvous<T>(body: (id: string) => Promise<T>): Promise<T> {
  // A server per world: the browser provider joins the relay's default world, so worlds must not share one.
  const server = await within(RendezvousServer.start(), STEP_MS, 'rendezvous server');
  try {
    return await body(server.id);
  } finally {
    await server.close();
  }
}

const inputOf = (rank: number, c: (typeof CASES)[number]) => inputFor(c.dtype, c.op, rank, c.count);
const runsFor = (rank: number): RankRun[] => CASES.map((c) => ({ ...c, input: Array.from(inputOf(rank, c)) }));

function typed(dtype: DataType, values: readonly number[]): ElementArray {
  const out = allocate(dtype, values.length);
  out.set(values);
  return out;
}

/** Checks every rank's outputs, bit for bit, against the serial oracle over every rank's input. */
function checkOutputs(outputs: readonly (readonly number[][])[], who: readonly string[]): void {
  CASES.forEach((c, i) => {
    const expected = oracleReduce(outputs.map((_, rank) => inputOf(rank, c)), c.count, c.dtype, c.op);
    outputs.forEach((rankOutputs, rank) => {
      sameElements(typed(c.dtype, rankOutputs[i]!), expected, `${who[rank]} (rank ${rank}) ${c.dtype} ${c.op} ${c.placement} count=${c.count}`);
    });
  });
}

function runInTab(tab: BrowserTab, job: RankJob): Promise<RankOutcome> {
  return tab.evaluate<RankOutcome>(rankExpression(job), RANK_MS, `tab rank ${job.rank} of ${job.size}`);
}

/** A Node rank in a relay world: the `ws` WebSocket where a page has the native one; TypedArrays only. */
async function nodeRank(id: string, rank: number, size: number): Promise<number[][]> {
  const transport = await connectRelay({ id, rank, size, WebSocket: nodeWebSocket(), timeoutMs: COMM_TIMEOUT_MS });
  const comm = await Communicator.init({ rank, size, transport, timeoutMs: COMM_TIMEOUT_MS });
  try {
    const outputs: number[][] = [];
    for (const c of CASES) {
      const recv = allocate(c.dtype, c.count);
      await comm.allReduce(inputOf(rank, c), recv, c.count, c.dtype, c.op);
      outputs.push(Array.from(recv));
    }
    return outputs;
  } finally {
    await comm.destroy();
    await transport.close();
  }
}

test('headless chromium offers a WebGPU adapter', async () => {
  const info = await withTabs(1, ([tab]) => tab!.evaluate<{ gpu: boolean; adapter: Record<string, unknown> | null }>(
    `(async () => {
      const adapter = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
      const i = adapter?.info;
      return { gpu: !!navigator.gpu, adapter: i ? { vendor: i.vendor, architecture: i.architecture, description: i.description, fallback: i.isFallbackAdapter } : null };
    })()`, STEP_MS, 'requestAdapter'));
  assert.ok(info.gpu, `navigator.gpu is undefined in chromium started with ${CHROMIUM_FLAGS.join(' ')}`);
  assert.ok(info.adapter, `navigator.gpu.requestAdapter() gave null in chromium started with ${CHROMIUM_FLAGS.join(' ')}`);
  console.log(`# chromium WebGPU adapter: ${JSON.stringify(info.adapter)}`);
});

test('3 tabs, one rank each: float32 sum and avg on GPUBuffers, int32 sum on TypedArrays, through the relay', async () => {
  const size = 3;
  const outcomes = await withRendezvous((id) => withTabs(size, (tabs) => within(
    Promise.all(tabs.map((tab, rank) => runInTab(tab, { id, rank, size, timeoutMs: COMM_TIMEOUT_MS, runs: runsFor(rank) }))),
    RANK_MS, '3 browser ranks',
  )));
  for (const outcome of outcomes) assert.match(outcome.adapter, /swiftshader/i, `tab ran on ${outcome.adapter}`);
  checkOutputs(outcomes.map((o) => o.outputs), outcomes.map((o) => `tab on ${o.adapter}`));
});

/** What `webccl serve` prints: the relay id of a rendezvous server. */
const relayIdOf = (id: string) => formatUniqueId({ ...parseUniqueId(id), transport: 'relay' });

test('a Node rank given the relay id joins 2 tabs with Communicator.fromEnv alone (WEBCCL_ID, RANK, WORLD_SIZE)', async () => {
  const size = 3;
  const nodeRankIndex = 2;
  const outputs = await withRendezvous((serverId) => withTabs(size - 1, async (tabs) => {
    const id = relayIdOf(serverId);
    const node = (async () => {
      Object.assign(process.env, { WEBCCL_ID: id, RANK: String(nodeRankIndex), WORLD_SIZE: String(size) });
      const comm = await NodeCommunicator.fromEnv({ timeoutMs: COMM_TIMEOUT_MS });
      for (const name of ['WEBCCL_ID', 'RANK', 'WORLD_SIZE']) delete process.env[name];
      try {
        assert.is(comm.transport.description, 'websocket(relay)');
        const results: number[][] = [];
        for (const c of CASES) {
          const recv = allocate(c.dtype, c.count);
          await comm.allReduce(inputOf(nodeRankIndex, c), recv, c.count, c.dtype, c.op);
          results.push(Array.from(recv));
        }
        return results;
      } finally {
        await comm.destroy();
      }
    })();
    return within(Promise.all([
      ...tabs.map((tab, rank) => runInTab(tab, { id, rank, size, timeoutMs: COMM_TIMEOUT_MS, runs: runsFor(rank) }).then((o) => o.outputs)),
      node,
    ]), RANK_MS, '2 browser ranks and a Node rank on a relay id');
  }));
  checkOutputs(outputs, outputs.map((_, rank) => (rank === nodeRankIndex ? 'Node' : 'tab')));
});

test('2 tabs and a Node rank in one relay world', async () => {
  const size = 3;
  const nodeRankIndex = 1; // in the middle, so that both ring neighbours are browsers
  const outputs = await withRendezvous((id) => withTabs(size - 1, (tabs) => within(Promise.all(
    Array.from({ length: size }, (_, rank) => {
      if (rank === nodeRankIndex) return nodeRank(id, rank, size);
      const tab = tabs[rank < nodeRankIndex ? rank : rank - 1]!;
      return runInTab(tab, { id, rank, size, timeoutMs: COMM_TIMEOUT_MS, runs: runsFor(rank) }).then((o) => o.outputs);
    }),
  ), RANK_MS, '2 browser ranks and a Node rank')));
  checkOutputs(outputs, outputs.map((_, rank) => (rank === nodeRankIndex ? 'Node' : 'tab')));
});

test.run();
