// The communicator over two levels of switches: a root and two leaves (`webccl switch --parent`,
// here SwitchServer with `parent`), 2 ranks at each leaf, each rank naming its own leaf with the
// switchLeaf init option. Rank 0 numbers the leaves from the bootstrap hellos, so every rank
// joins its leaf with rank/size counted there, total 4 and its leaf's place at the root. The
// results are the flat single switch's bits (int32 and float32: the workers quantize with the
// job's total n, so the partial sums add up to the same int32 sums). A leaf that cannot be
// reached fails its ranks' call naming it and their peers' promptly; leaves named by some
// ranks only fail init on every rank.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the switch aggregator and the tcp world
import { Communicator, getUniqueId } from '../lib/comm/communicator.js';
import { leafPlacement, numberLeaves, widestSwitch } from '../lib/comm/switch-leaves.js';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { allocate, destroyWorld, oracleReduce, sameElements } from './helpers/comm-world.js';
import { agreedPacketValues, float32Violation, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { rejection, within } from './within.js';
import { allReduceAll, splitFirstThreeAndSum } from './helpers/switch-world.js';

const SIZE = 4;
const COUNT = 20_001;

const root = await SwitchServer.start({ port: 0 });
const parent = { address: root.address, secret: root.secret, retransmitMs: 5, timeoutMs: 10_000 };
const leaves = await Promise.all([0, 1].map(() => SwitchServer.start({ port: 0, parent })));
const flatSwitch = await SwitchServer.start({ port: 0 });

/** Rank r's leaf: ranks 0, 1 at leaf 0 and ranks 2, 3 at leaf 1, unless `leafOf` says otherwise. */
async function world(transport: 'inproc' | 'tcp', leafOf: (rank: number) => SwitchServer | undefined, timeoutMs = 30_000): Promise<Communicator[]> {
  const id = await getUniqueId({ transport });
  return within(Promise.all(Array.from({ length: SIZE }, (_, rank) => {
    const leaf = leafOf(rank);
    const access = leaf === undefined
      ? { switch: flatSwitch.address, switchSecret: flatSwitch.secret }
      : { switch: root.address, switchLeaf: leaf.address, switchSecret: leaf.secret };
    return Communicator.init({ id, rank, size: SIZE, algorithm: 'switch', chunkBytes: 16 * 1024, timeoutMs, ...access });
  })), 30_000, 'world');
}

const twoLeaves = (rank: number) => leaves[rank < 2 ? 0 : 1];

const ints = Array.from({ length: SIZE }, (_, r) => randomInt32(COUNT, r + 3));
const floats = Array.from({ length: SIZE }, (_, r) => randomFloat32(COUNT, r + 40));

const flat = await world('inproc', () => undefined);
const flatInt = (await allReduceAll(flat, ints, 'int32', 'sum'))[0]!;
const flatFloat = (await allReduceAll(flat, floats, 'float32', 'sum'))[0]!;
await destroyWorld(flat);

for (const transport of ['inproc', 'tcp'] as const) {
  test(`${transport}, 2 leaves x 2 ranks: int32 exact and float32 bit-identical to the flat switch (so within its bound), each leaf with a 2-worker job, the root with one member per leaf`, async () => {
    const leafJobs = leaves.map((leaf) => leaf.counters().jobs.length);
    const comms = await world(transport, twoLeaves);
    try {
      for (const c of comms) assert.equal(c.config.leaves, [0, 0, 1, 1]);
      const int = await allReduceAll(comms, ints, 'int32', 'sum');
      const float = await allReduceAll(comms, floats, 'float32', 'sum');
      for (let r = 0; r < SIZE; r++) {
        sameElements(int[r]!, oracleReduce(ints, COUNT, 'int32', 'sum'), `int32, rank ${r}`);
        sameElements(int[r]!, flatInt, `int32 as the flat switch, rank ${r}`);
        sameElements(float[r]!, flatFloat, `float32 as the flat switch, rank ${r}`);
      }
      assert.is(float32Violation(floats, float[0] as Float32Array, agreedPacketValues(comms[0]!)), undefined, 'float32 within the bound for n = 4');
      for (const [i, leaf] of leaves.entries()) {
        const job = leaf.counters().jobs.at(-1)!;
        assert.is(leaf.counters().jobs.length, leafJobs[i]! + 1, `leaf ${i} ran the job`);
        assert.is(job.workers, 2, `leaf ${i} has its 2 ranks`);
        assert.ok(job.uplink !== undefined && job.uplink.up > 0, `leaf ${i} forwarded its slots to the root`);
      }
      assert.is(root.counters().jobs.at(-1)!.workers, 2, 'the root sees one member per leaf');
    } finally {
      await destroyWorld(comms);
    }
  });
}

test('a split child places its own ranks: ranks 0-2 (leaves 0, 0, 1) reduce as 2 + 1 workers under the root', async () => {
  const comms = await world('inproc', twoLeaves);
  try {
    const members = await splitFirstThreeAndSum(comms, ints);
    assert.is(leaves[1]!.counters().jobs.at(-1)!.workers, 1, 'leaf 1 has the child\'s one rank there');
    await destroyWorld(members);
  } finally {
    await destroyWorld(comms);
  }
});

test('an unreachable leaf: its ranks\' call rejects naming it, the other leaf\'s ranks reject promptly too', async () => {
  const gone = await SwitchServer.start({ port: 0, parent });
  await gone.close();
  const comms = await world('inproc', (rank) => (rank < 2 ? leaves[0] : gone), 20_000);
  try {
    const started = performance.now();
    const errors = await Promise.all(comms.map((c, r) => rejection(c.allReduce(ints[r]!, allocate('int32', COUNT), COUNT, 'int32', 'sum'), 15_000, `rank ${r}`)));
    assert.ok(performance.now() - started < 10_000, `well before the 20 s timeout (${Math.round(performance.now() - started)} ms)`);
    for (const [r, error] of errors.entries()) assert.match(error.message, `switch ${gone.address}`, `rank ${r} names the leaf: ${error.message}`);
  } finally {
    await destroyWorld(comms);
  }
});

test('leaves named by some ranks only: init fails on every rank, naming the ranks without one', async () => {
  const id = await getUniqueId({ transport: 'inproc' });
  const errors = await Promise.all(Array.from({ length: SIZE }, (_, rank) => rejection(Communicator.init({
    id, rank, size: SIZE, switch: root.address, switchSecret: root.secret, timeoutMs: 20_000, ...(rank === 2 ? {} : { switchLeaf: leaves[0]!.address }),
  }), 10_000, `init of rank ${rank}`)));
  for (const [r, error] of errors.entries()) assert.match(error.message, 'rank 2 named no leaf switch while others did', `rank ${r}: ${error.message}`);
});

test('placement: leaves numbered by first appearance; a worker counted at its leaf, the leaves the job uses at the root; only the given workers (host leaders) count', () => {
  assert.equal(numberLeaves(['b:1', 'a:1', 'b:1', 'c:1']), [0, 1, 0, 2]);
  assert.is(numberLeaves(['', '']), undefined);
  assert.throws(() => numberLeaves(['a:1', '', 'a:1', '']), /ranks 1, 3 named no leaf switch while others did/);
  const leaves = [0, 1, 0, 2];
  const all = [0, 1, 2, 3];
  assert.equal(leafPlacement(leaves, all, all, 2), { rank: 1, size: 2, total: 4, uplink: { rank: 0, size: 3 } });
  assert.equal(leafPlacement(leaves, all, all, 3), { rank: 0, size: 1, total: 4, uplink: { rank: 2, size: 3 } });
  // A split child of world ranks [3, 1] and host leaders [0, 2] of a world on leaves 0, 0, 1, 1.
  assert.equal(leafPlacement(leaves, [3, 1], [0, 1], 1), { rank: 0, size: 1, total: 2, uplink: { rank: 1, size: 2 } });
  assert.equal(leafPlacement([0, 0, 1, 1], all, [0, 2], 2), { rank: 0, size: 1, total: 2, uplink: { rank: 1, size: 2 } });
  assert.is(widestSwitch(leaves, all, all), 3, 'the root has 3 members, more than any leaf');
  assert.is(widestSwitch([0, 0, 0, 1], all, all), 3, 'leaf 0 has 3 workers');
});

test('a malformed switchLeaf or WEBCCL_SWITCH_LEAF is refused at init', async () => {
  const id = await getUniqueId({ transport: 'inproc' });
  const option = await rejection(Communicator.init({ id, rank: 0, size: 1, switchLeaf: 'no-port' }), 5000, 'option');
  assert.match(option.message, /switchLeaf 'no-port' is not host:port/);
  process.env['WEBCCL_SWITCH_LEAF'] = 'ws://[bad';
  try {
    const env = await rejection(Communicator.init({ id: await getUniqueId({ transport: 'inproc' }), rank: 0, size: 1 }), 5000, 'env');
    assert.match(env.message, /WEBCCL_SWITCH_LEAF=ws:\/\/\[bad is not/);
  } finally {
    delete process.env['WEBCCL_SWITCH_LEAF'];
  }
});

test.after(() => Promise.all([root, flatSwitch, ...leaves].map((s) => s.close())).then(() => undefined));
test.run();
