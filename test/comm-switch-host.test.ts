// The switch algorithm's host-local hierarchy (switchHierarchy 'host'): 2 "hosts" x 2 ranks
// (host names faked with the hostId init option) over inproc and tcp. The ranks of a host fold
// into their leader, only the leaders are workers of the switch job, and every rank ends with
// the flat switch's int32 sums bit for bit; float32 within the switch's bound for the per-host
// sums with n = 2 hosts. Rank 0's choice holds for every rank, and a split child groups by the
// same hosts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the switch aggregator and the tcp world
import { Communicator, getUniqueId } from '../lib/comm/communicator.js';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { destroyWorld, oracleReduce, sameElements } from './helpers/comm-world.js';
import { agreedPacketValues, float32Violation, int32Sum, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { within } from './within.js';
import { allReduceAll, splitFirstThreeAndSum } from './helpers/switch-world.js';

const server = await SwitchServer.start({ port: 0 });
const HOSTS = ['a', 'a', 'b', 'b'];
const COUNT = 20_001;

async function world(transport: 'inproc' | 'tcp', hierarchy: (rank: number) => 'host' | 'flat' | undefined): Promise<Communicator[]> {
  const id = await getUniqueId({ transport });
  return within(Promise.all(HOSTS.map((hostId, rank) => {
    const chosen = hierarchy(rank);
    return Communicator.init({
      id, rank, size: HOSTS.length, hostId, algorithm: 'switch', switch: server.address, switchSecret: server.secret, chunkBytes: 16 * 1024, timeoutMs: 30_000,
      ...(chosen === undefined ? {} : { switchHierarchy: chosen }),
    });
  })), 30_000, 'world');
}

/** Each host's float32 sum as its leader folds it (in rank order, rounding each step). */
function hostSums(inputs: readonly Float32Array[], hosts: readonly string[]): Float32Array[] {
  const sums = new Map<string, Float32Array>();
  inputs.forEach((input, r) => {
    const sum = sums.get(hosts[r]!);
    if (!sum) sums.set(hosts[r]!, Float32Array.from(input));
    else for (let i = 0; i < sum.length; i++) sum[i] = Math.fround(sum[i]! + input[i]!);
  });
  return [...sums.values()];
}

function jobsOfSize(workers: number): number {
  return server.counters().jobs.filter((job) => job.workers === workers).length;
}

const ints = HOSTS.map((_, r) => randomInt32(COUNT, r + 3));
const floats = HOSTS.map((_, r) => randomFloat32(COUNT, r + 40));

const flat = await world('inproc', () => undefined);
const flatInts = await allReduceAll(flat, ints, 'int32', 'sum');
const flatAvg = await allReduceAll(flat, ints, 'int32', 'avg');
await destroyWorld(flat);

for (const transport of ['inproc', 'tcp'] as const) {
  test(`${transport}, 2 hosts x 2 ranks: int32 sum and avg bit-identical to the flat switch, float32 within the bound of the per-host sums, one switch worker per host`, async () => {
    const twoWorkerJobs = jobsOfSize(2);
    // Only rank 0 asks for the hierarchy: its configuration holds for every rank.
    const comms = await world(transport, (rank) => (rank === 0 ? 'host' : 'flat'));
    try {
      for (const c of comms) assert.equal(c.config.hosts, [0, 0, 1, 1]);
      const got = await allReduceAll(comms, ints, 'int32', 'sum');
      for (const [r, out] of got.entries()) {
        sameElements(out, oracleReduce(ints, COUNT, 'int32', 'sum'), `int32, rank ${r}`);
        sameElements(out, flatInts[0]!, `int32 as the flat switch, rank ${r}`);
      }
      for (const [r, out] of (await allReduceAll(comms, ints, 'int32', 'avg')).entries()) sameElements(out, flatAvg[0]!, `int32 avg, rank ${r}`);
      for (const [op, divisor] of [['sum', 1], ['avg', HOSTS.length]] as const) {
        const out = await allReduceAll(comms, floats, 'float32', op);
        for (const [r, o] of out.entries()) sameElements(o, out[0]!, `float32 ${op}: rank ${r} vs rank 0`);
        assert.is(float32Violation(hostSums(floats, HOSTS), out[0] as Float32Array, agreedPacketValues(comms[0]!), divisor), undefined, `float32 ${op}`);
      }
      assert.is(jobsOfSize(2), twoWorkerJobs + 1, 'the switch job has one worker per host');
    } finally {
      await destroyWorld(comms);
    }
  });
}

test('a split child keeps the hosts: ranks 0-2 (hosts a, a, b) reduce through a 2-worker job', async () => {
  const comms = await world('inproc', () => 'host');
  try {
    const members = await splitFirstThreeAndSum(comms, ints);
    await destroyWorld(members);
  } finally {
    await destroyWorld(comms);
  }
});

test('34 ranks on 2 hosts fit the 32-worker bitmap: a job of 2 switch workers (the flat refusal: tune-select.test.ts)', async () => {
  const size = 34;
  const id = await getUniqueId({ transport: 'inproc' });
  const comms = await within(Promise.all(Array.from({ length: size }, (_, rank) => Communicator.init({
    id, rank, size, hostId: rank < size / 2 ? 'a' : 'b', switchHierarchy: 'host', switch: server.address, switchSecret: server.secret, timeoutMs: 30_000,
  }))), 30_000, '34 ranks');
  try {
    const inputs = comms.map((_, r) => randomInt32(1000, r + 1));
    const jobs = jobsOfSize(2);
    const outputs = await allReduceAll(comms, inputs, 'int32', 'sum');
    for (const [r, out] of outputs.entries()) sameElements(out, int32Sum(inputs), `rank ${r}`);
    assert.is(jobsOfSize(2), jobs + 1);
  } finally {
    await destroyWorld(comms);
  }
});

test('WEBCCL_SWITCH_HIERARCHY must be host or flat', async () => {
  process.env['WEBCCL_SWITCH_HIERARCHY'] = 'rack';
  try {
    const error = await Communicator.init({ rank: 0, size: 1, id: await getUniqueId({ transport: 'inproc' }) }).then(() => undefined, (e: Error) => e);
    assert.match(error?.message ?? '', /WEBCCL_SWITCH_HIERARCHY=rack is not one of host, flat/);
  } finally {
    delete process.env['WEBCCL_SWITCH_HIERARCHY'];
  }
});

test.after(() => server.close());
test.run();
