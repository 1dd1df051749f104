// The switch algorithm in a real browser: headless Chromium tabs load the built browser bundle
// and join a relay world of a rendezvous server that hosts a switch (`webccl serve --switch`);
// with `algorithm: 'switch'` and nothing else, the tabs reach the switch through its WebSocket
// door (a page cannot send UDP) while a Node rank of the same world takes UDP. int32 sums are
// exact, float32 sums (on GPUBuffers in the tabs) within the SwitchML bound and the same bits on
// every rank. Fails, never skips, when chromium or its WebGPU adapter is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // the relay world and the switch aggregator for the Node rank
import { Communicator } from '../lib/comm/communicator.js';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import type { StaticServer } from '../demo/static-server.js';
import { Chromium, type BrowserTab } from './helpers/browser.js';
import { serveTestPage } from './helpers/browser-page.js';
import { rankExpression, type RankOutcome, type RankRun } from './helpers/browser-rank.js';
import { oracleReduce, sameElements } from './helpers/comm-world.js';
import { agreedPacketValues, float32Violation, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { within } from './within.js';

const STEP_MS = 20_000;
const RANK_MS = 90_000;
const COMM_TIMEOUT_MS = 30_000;
const SIZE = 3;
const NODE_RANK = 2;
const INT_COUNT = 4099;
const FLOAT_COUNT = 3001;

let chromium: Chromium | undefined;
let page: StaticServer | undefined;
test.after(async () => {
  await Promise.allSettled([chromium?.close(), page?.close()]);
});

const ints = Array.from({ length: SIZE }, (_, r) => randomInt32(INT_COUNT, r + 21));
const floats = Array.from({ length: SIZE }, (_, r) => randomFloat32(FLOAT_COUNT, r + 42));
const runsFor = (rank: number): RankRun[] => [
  { dtype: 'int32', op: 'sum', placement: 'array', input: Array.from(ints[rank]!) },
  { dtype: 'float32', op: 'sum', placement: 'gpu', input: Array.from(floats[rank]!) },
];

/** The job's packet values, as the Node rank's communicator agreed them (the float32 bound's block is half of it). */
let packetValues = 0;

async function nodeRank(id: string): Promise<number[][]> {
  const comm = await Communicator.init({ id, rank: NODE_RANK, size: SIZE, algorithm: 'switch', timeoutMs: COMM_TIMEOUT_MS });
  try {
    packetValues = agreedPacketValues(comm);
    const intOut = new Int32Array(INT_COUNT);
    const floatOut = new Float32Array(FLOAT_COUNT);
    await comm.allReduce(ints[NODE_RANK]!, intOut, INT_COUNT, 'int32', 'sum');
    await comm.allReduce(floats[NODE_RANK]!, floatOut, FLOAT_COUNT, 'float32', 'sum');
    return [Array.from(intOut), Array.from(floatOut)];
  } finally {
    await comm.destroy();
  }
}

test('2 tabs through the switch\'s WebSocket door and a Node rank by UDP, in one relay world of webccl serve --switch', async () => {
  const server = await within(RendezvousServer.start({ switch: {} }), STEP_MS, 'rendezvous server with a switch');
  const tabs: BrowserTab[] = [];
  try {
    chromium = await Chromium.launch(STEP_MS);
    page = await serveTestPage();
    for (let i = 0; i < SIZE - 1; i++) tabs.push(await chromium.openTab(`${page.origin}/`, STEP_MS));
    const id = formatUniqueId({ ...parseUniqueId(server.id), transport: 'relay' });
    const outputs = await within(Promise.all([
      ...tabs.map((tab, rank) => tab.evaluate<RankOutcome>(
        rankExpression({ id, rank, size: SIZE, timeoutMs: COMM_TIMEOUT_MS, runs: runsFor(rank), init: { algorithm: 'switch' } }),
        RANK_MS, `tab rank ${rank}`,
      ).then((outcome) => outcome.outputs)),
      nodeRank(id),
    ]), RANK_MS, '2 tabs and a Node rank');
    const intWant = oracleReduce(ints, INT_COUNT, 'int32', 'sum');
    for (const [rank, [intOut, floatOut]] of outputs.entries()) {
      sameElements(Int32Array.from(intOut!), intWant, `rank ${rank} int32`);
      sameElements(Float32Array.from(floatOut!), Float32Array.from(outputs[0]![1]!), `rank ${rank} float32: the same bits as rank 0`);
    }
    // The door has no MTU and the Node rank's UDP path is loopback: 'auto' takes 4096 values.
    assert.is(packetValues, 4096);
    assert.is(float32Violation(floats, Float32Array.from(outputs[0]![1]!), packetValues), undefined, 'float32 within the SwitchML bound');
    const counters = server.hostedSwitch!.counters();
    assert.ok(counters.webSocketMessages > 0, 'the tabs sent packets through the door');
    assert.ok(counters.datagrams > 0, 'the Node rank sent datagrams');
  } finally {
    await Promise.allSettled(tabs.map((tab) => tab.close(STEP_MS)));
    await server.close();
  }
});

test.run();
