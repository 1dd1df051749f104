// Two levels of switches (leaf switches joined to a root as one member each, SHARP's tree shape)
// over real UDP loopback, in this process: 2 leaves x 4 workers give the same bits as one
// switch with 8 workers, under loss, duplication and reordering at both levels too; a leaf that
// dies fails every worker's call promptly, naming the leaf or the root; a leaf's WebSocket door
// serves its workers as a flat switch's does; misconfigured trees are
// refused with the reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SwitchServer, type SwitchServerOptions } from '../lib/switch/switch-server.js';
import { SwitchWorker, type SwitchWorkerOptions } from '../lib/switch/worker.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import { float32Violation, int32Sum, joinJob, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { rejection, within } from './within.js';

const LEAVES = 2;
const PER_LEAF = 4;
const N = LEAVES * PER_LEAF;
const COUNT = 20_000;
let worlds = 0;

interface Tree { root: SwitchServer; leaves: SwitchServer[]; close(): Promise<void> }

async function startTree(faults: SwitchServerOptions['faults'] = undefined, seed = 1, leafDoors: Partial<SwitchServerOptions> = {}, rootOptions: Partial<SwitchServerOptions> = {}): Promise<Tree> {
  const root = await SwitchServer.start({ port: 0, ...rootOptions, ...(faults ? { faults: { ...faults, seed } } : {}) });
  const leaves = await Promise.all(Array.from({ length: LEAVES }, (_, i) => SwitchServer.start({
    port: 0, ...leafDoors, parent: { address: root.address, secret: root.secret, retransmitMs: 5, timeoutMs: 10_000 }, ...(faults ? { faults: { ...faults, seed: seed + 10 + i } } : {}),
  })));
  return { root, leaves, close: async () => { await Promise.all([root, ...leaves].map((s) => s.close())); } };
}

/** N workers: global rank g sits at leaf floor(g / PER_LEAF) as its worker g mod PER_LEAF. */
async function joinTree(tree: Tree, extra: (rank: number) => Partial<SwitchWorkerOptions> = () => ({})): Promise<SwitchWorker[]> {
  const world = `tree-${process.pid}-${worlds++}`;
  return within(Promise.all(Array.from({ length: N }, (_, g) => {
    const leaf = tree.leaves[Math.floor(g / PER_LEAF)]!;
    return SwitchWorker.connect({
      switch: leaf.address, secret: leaf.secret, world, rank: g % PER_LEAF, size: PER_LEAF, total: N,
      uplink: { rank: Math.floor(g / PER_LEAF), size: LEAVES }, timeoutMs: 10_000, ...extra(g),
    });
  })), 15_000, `${N} workers joining two leaves`);
}

async function sums(workers: SwitchWorker[], seed: number) {
  const ints = workers.map((_, r) => randomInt32(COUNT, seed + r));
  const floats = workers.map((_, r) => randomFloat32(COUNT, seed + 100 + r));
  const int = await within(Promise.all(workers.map((w, r) => w.allReduce(ints[r]!))), 60_000, 'int32');
  const float = await within(Promise.all(workers.map((w, r) => w.allReduce(floats[r]!))), 60_000, 'float32');
  const avg = await within(Promise.all(workers.map((w, r) => w.allReduce(ints[r]!.subarray(0, 100), 'avg'))), 60_000, 'avg');
  return { ints, floats, int, float, avg };
}

/** Every rank's int32, float32 and avg results are the one-switch run's bits. */
function assertSameAsFlat(got: Awaited<ReturnType<typeof sums>>): void {
  for (let r = 0; r < N; r++) {
    assert.equal(got.int[r], flat.int[0], `int32, rank ${r}`);
    assert.equal(got.float[r], flat.float[0], `float32, rank ${r}`);
    assert.equal(got.avg[r], flat.avg[0], `avg, rank ${r}`);
  }
}

function closeAll(workers: SwitchWorker[]): void {
  for (const w of workers) w.close();
}

const flatSwitch = await SwitchServer.start({ port: 0 });
const flatWorkers = await joinJob(flatSwitch, N);
const flat = await sums(flatWorkers, 1);
closeAll(flatWorkers);
await flatSwitch.close();

test('2 leaves x 4 workers: int32 exact, float32 within the 8-worker bound, and both bit-identical to one switch with 8 workers', async () => {
  const tree = await startTree();
  const workers = await joinTree(tree);
  try {
    assert.is(workers[0]!.welcome.workers, N, 'a leaf worker quantizes with the job\'s total n');
    assert.is(tree.root.dataPlane, 'native', 'the root takes the native plane (auto, the addon is built)');
    assert.ok(tree.leaves.every((leaf) => leaf.dataPlane === 'js'), 'a leaf takes the TypeScript plane (its verdicts go through the uplink)');
    const got = await sums(workers, 1);
    for (let r = 0; r < N; r++) {
      assert.equal(got.int[r], int32Sum(got.ints), `int32 exact, rank ${r}`);
      assert.equal(got.int[r], flat.int[0], `int32 as one switch, rank ${r}`);
      assert.is(float32Violation(got.floats, got.float[r]!, 64), undefined, `float32 bound, rank ${r}`);
      assert.equal(got.float[r], flat.float[0], `float32 bits as one switch, rank ${r}`);
      assert.equal(got.avg[r], flat.avg[0], `avg divides by the total n, rank ${r}`);
    }
    const leafJob = tree.leaves[0]!.counters().jobs[0]!;
    assert.is(leafJob.workers, PER_LEAF);
    assert.ok(leafJob.uplink !== undefined && leafJob.uplink.up > 0 && leafJob.uplink.rootResults === leafJob.uplink.up, 'every completed slot went up once and came back');
    assert.is(tree.root.counters().jobs[0]!.workers, LEAVES, 'the root sees one member per leaf');
  } finally {
    closeAll(workers);
    await tree.close();
  }
});

test('leaves with WebSocket doors: leaf 0\'s workers join by WebSocket (as browsers do), leaf 1\'s by UDP; bit-identical to one switch with 8 workers', async () => {
  const tree = await startTree(undefined, 1, { webSocketPort: 0 });
  const WebSocket = nodeWebSocket();
  const workers = await joinTree(tree, (g) => (g < PER_LEAF ? { via: 'websocket' as const, switch: tree.leaves[0]!.webSocketUrl!, webSocket: WebSocket } : {}));
  try {
    const got = await sums(workers, 1);
    assertSameAsFlat(got);
    const leafJob = tree.leaves[0]!.counters().jobs[0]!;
    assert.ok(leafJob.uplink !== undefined && leafJob.uplink.up > 0 && leafJob.uplink.rootResults === leafJob.uplink.up, 'the WebSocket leaf sent its slots up and got the root\'s results back');
  } finally {
    closeAll(workers);
    await tree.close();
  }
});

test('a root that does not offer exponents-only packets (as SwitchML\'s hardware): the leaves send them up as full packets of zeros (test/switch-leaf-uplink.test.ts checks the bytes); bit-identical to one switch', async () => {
  const tree = await startTree(undefined, 1, {}, { exponentsOnly: false });
  const workers = await joinTree(tree);
  try {
    assert.ok(workers[0]!.welcome.exponentsOnly, 'the leaf offers them to its workers');
    assertSameAsFlat(await sums(workers, 1));
  } finally {
    closeAll(workers);
    await tree.close();
  }
});

test('loss, duplication and reordering at both levels (leaves, root and workers at 5%): bit-identical to the loss-free run', async () => {
  const faults = { drop: 0.05, dup: 0.05, reorder: 0.05 };
  const tree = await startTree(faults, 7);
  const workers = await joinTree(tree, (g) => ({ retransmitMs: 5, faults: { ...faults, seed: 500 + g } }));
  try {
    const got = await sums(workers, 1);
    assertSameAsFlat(got);
    const leafUplinks = tree.leaves.map((leaf) => leaf.counters().jobs[0]!.uplink!);
    assert.ok(leafUplinks.some((u) => u.upRetransmissions > 0), 'a leaf repaired upward loss on its own timer');
    assert.ok(leafUplinks.some((u) => u.waitingForRoot > 0), 'workers\' retransmissions to copies waiting for the root were dropped');
    assert.ok(tree.root.counters().faults.dropped > 0 && tree.leaves.every((leaf) => leaf.counters().faults.dropped > 0), 'faults were injected at both levels');
  } finally {
    closeAll(workers);
    await tree.close();
  }
});

test('a leaf dies mid-call: every worker of both leaves rejects promptly, naming the leaf or the root', async () => {
  const tree = await startTree();
  const workers = await joinTree(tree, () => ({ timeoutMs: 8000 }));
  try {
    // The last worker never calls, so nobody's call can finish before leaf 1 goes.
    const started = performance.now();
    const calls = workers.slice(0, N - 1).map((w, g) => rejection(w.allReduce(randomInt32(50_000, g)), 5000, `worker ${g}`));
    await new Promise((done) => setTimeout(done, 50));
    await tree.leaves[1]!.close();
    const errors = await Promise.all(calls);
    assert.ok(performance.now() - started < 4000, 'well before the call timeout');
    for (let g = 0; g < N - 1; g++) {
      const message = errors[g]!.message;
      if (g >= PER_LEAF) assert.match(message, tree.leaves[1]!.address, `worker ${g} of the dead leaf names it: ${message}`);
      else {
        assert.match(message, tree.leaves[0]!.address, `worker ${g} names its leaf: ${message}`);
        assert.match(message, `root switch ${tree.root.address}`, `and the root: ${message}`);
        assert.match(message, 'leaf switch 1', `and which leaf left: ${message}`);
      }
    }
  } finally {
    closeAll(workers);
    await tree.close();
  }
});

test('refused: an uplink on a switch without a parent, a two-level total without an uplink, a root that refuses the leaf, a leaf on the native plane', async () => {
  const plain = await SwitchServer.start({ port: 0 });
  const base = { switch: plain.address, secret: plain.secret, rank: 0, size: 1, timeoutMs: 5000 };
  try {
    const noParent = await rejection(SwitchWorker.connect({ ...base, world: 'no-parent', total: 2, uplink: { rank: 0, size: 2 } }), 6000, 'no parent');
    assert.match(noParent.message, 'no root to forward the job to');
    const noUplink = await rejection(SwitchWorker.connect({ ...base, world: 'no-uplink', total: 2 }), 6000, 'no uplink');
    assert.match(noUplink.message, 'needs an uplink');
  } finally {
    await plain.close();
  }
  const root = await SwitchServer.start({ port: 0 });
  const leaf = await SwitchServer.start({ port: 0, parent: { address: root.address, secret: 'f'.repeat(32), timeoutMs: 5000 } });
  try {
    const nativeLeaf = await rejection(SwitchServer.start({ port: 0, dataPlane: 'native', parent: { address: root.address, secret: root.secret } }), 5000, 'a native leaf');
    assert.match(nativeLeaf.message, 'a leaf switch (--parent) runs the TypeScript data plane');
    const refused = await rejection(SwitchWorker.connect({
      switch: leaf.address, secret: leaf.secret, world: 'bad-root-secret', rank: 0, size: 1, total: 2, uplink: { rank: 0, size: 2 }, timeoutMs: 5000,
    }), 6000, 'root refuses');
    assert.match(refused.message, leaf.address);
    assert.match(refused.message, `root switch ${root.address}`);
    assert.match(refused.message, 'wrong secret');
  } finally {
    await Promise.all([root.close(), leaf.close()]);
  }
});

test.run();
