// Communicator creation: fromEnv (WEBCCL_ID or torchrun's variables), the configuration that
// rank 0's settings decide for everyone, and ids.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Communicator, getUniqueId } from '../lib/comm/communicator.js';
import { WebcclError } from '../lib/errors.js';
import { connectInproc } from '../lib/transport/inproc.js';
import '../lib/switch/path-mtu.js'; // the Node probe of each rank's path to the switch ('auto' packet values)

const saved = { ...process.env };
test.after.each(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof WebcclError ? `${error.code}: ${error.message}` : String(error);
  }
}

test('getUniqueId: inproc ids are distinct and name their scheme', async () => {
  const [a, b] = await Promise.all([getUniqueId({ transport: 'inproc' }), getUniqueId({ transport: 'inproc' })]);
  assert.match(a, /^inproc:\/\/[0-9a-f]{16}$/);
  assert.is.not(a, b);
});

test('fromEnv: WEBCCL_ID with torchrun RANK / WORLD_SIZE / LOCAL_RANK', async () => {
  const id = await getUniqueId({ transport: 'inproc' });
  Object.assign(process.env, { WEBCCL_ID: id, WORLD_SIZE: '2', LOCAL_RANK: '0' });
  const comms = await Promise.all([0, 1].map((rank) => Communicator.fromEnv({ rank })));
  assert.equal(comms.map((c) => [c.rank, c.size, c.localRank]), [[0, 2, 0], [1, 2, 0]]);
  const data = [Int32Array.of(5), Int32Array.of(6)];
  await Promise.all(comms.map((c, r) => c.allReduce(data[r]!, data[r]!, 1, 'int32', 'sum')));
  assert.is(data[1]![0], 11);
  await Promise.all(comms.map((c) => c.destroy()));
});

test('fromEnv: missing rank or world, or MASTER_ADDR without a provider that takes it', async () => {
  delete process.env['RANK'];
  delete process.env['WEBCCL_RANK'];
  delete process.env['WEBCCL_ID'];
  process.env['WORLD_SIZE'] = '2';
  assert.match(await code(Communicator.fromEnv()), /InvalidArgument: fromEnv: set RANK and WORLD_SIZE/);
  process.env['RANK'] = 'one';
  assert.match(await code(Communicator.fromEnv()), /InvalidArgument: fromEnv: RANK=one/);
  process.env['RANK'] = '0';
  assert.match(await code(Communicator.fromEnv()), /InvalidArgument: fromEnv: set WEBCCL_ID, or MASTER_ADDR and MASTER_PORT/);
});

test('agreed configuration: WEBCCL_ALGO / WEBCCL_CHUNK_BYTES as read by rank 0 hold for every rank', async () => {
  const id = await getUniqueId({ transport: 'inproc' });
  Object.assign(process.env, { WEBCCL_ALGO: 'tree', WEBCCL_CHUNK_BYTES: '4096', WEBCCL_TREE_THRESHOLD_BYTES: '10' });
  const first = Communicator.init({ id, rank: 0, size: 2 });
  // Rank 1 starts later, under other settings: rank 0's still win.
  await new Promise((resolve) => setTimeout(resolve, 5));
  Object.assign(process.env, { WEBCCL_ALGO: 'ring', WEBCCL_CHUNK_BYTES: '65536' });
  const second = Communicator.init({ id, rank: 1, size: 2 });
  const comms = await Promise.all([first, second]);
  for (const comm of comms) assert.equal(comm.config, { algorithm: 'tree', chunkBytes: 4096, treeThresholdBytes: 10, directThresholdBytes: 32768, pipelineDepth: 4, codec: 'none', switch: '', switchJob: '' });
  await Promise.all(comms.map((c) => c.destroy()));
  process.env['WEBCCL_ALGO'] = 'butterfly';
  assert.match(await code(Communicator.init({ id: await getUniqueId({ transport: 'inproc' }), rank: 0, size: 1 })), /InvalidArgument: .*WEBCCL_ALGO=butterfly/);
});

test('agreed configuration: the codec is the one rank 0 proposes, checked against the CODECS registry', async () => {
  delete process.env['WEBCCL_ALGO'];
  const id = await getUniqueId({ transport: 'inproc' });
  const comms = await Promise.all([0, 1].map((rank) => Communicator.init(rank === 0 ? { id, rank, size: 2, compression: 'int8' } : { id, rank, size: 2, codec: 'bf16' })));
  for (const comm of comms) assert.is(comm.config.codec, 'int8');
  await Promise.all(comms.map((c) => c.destroy()));
  const lone = await getUniqueId({ transport: 'inproc' });
  assert.match(await code(Communicator.init({ id: lone, rank: 0, size: 1, codec: 'zstd' })), /InvalidArgument: .*compression "zstd" is not one of none, bf16, fp16, int8, onebit, switchml/);
});

test('agreed configuration: WEBCCL_SWITCH / the switch option as rank 0 reads it, with rank 0\'s job name; a bad address or switch without one is refused', async () => {
  delete process.env['WEBCCL_ALGO'];
  const id = await getUniqueId({ transport: 'inproc' });
  process.env['WEBCCL_SWITCH'] = '127.0.0.1:48864';
  const first = Communicator.init({ id, rank: 0, size: 2 });
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = Communicator.init({ id, rank: 1, size: 2, switch: '10.0.0.9:1' });
  const comms = await Promise.all([first, second]);
  for (const comm of comms) {
    assert.is(comm.config.switch, '127.0.0.1:48864');
    assert.match(comm.config.switchJob, /^webccl-[0-9a-f]{16}$/);
    assert.is(comm.config.switchJob, comms[0]!.config.switchJob, 'one job name, rank 0\'s');
  }
  await Promise.all(comms.map((c) => c.destroy()));
  delete process.env['WEBCCL_SWITCH'];
  const lone = async () => getUniqueId({ transport: 'inproc' });
  assert.match(await code(Communicator.init({ id: await lone(), rank: 0, size: 1, switch: 'nowhere' })), /InvalidArgument: .*switch address 'nowhere' is not host:port/);
  assert.match(await code(Communicator.init({ id: await lone(), rank: 0, size: 1, algorithm: 'switch' })), /InvalidArgument: .*algorithm 'switch' needs a switch address/);
});

test('agreed configuration: switch packet values: rank 0\'s setting holds; \'auto\' is the smallest of the ranks\' paths; a bad one is refused', async () => {
  delete process.env['WEBCCL_ALGO'];
  const pair = async (options: (rank: number) => object) => {
    const id = await getUniqueId({ transport: 'inproc' });
    const comms = await Promise.all([0, 1].map((rank) => Communicator.init({ id, rank, size: 2, switch: '127.0.0.1:48864', ...options(rank) })));
    const values = comms.map((c) => c.config.switchPacketValues);
    await Promise.all(comms.map((c) => c.destroy()));
    return values;
  };
  // Rank 0's explicit size holds, whatever rank 1 asks for.
  assert.equal(await pair((rank) => ({ switchPacketValues: rank === 0 ? 512 : 64 })), [512, 512]);
  // Both on loopback: the largest.
  assert.equal(await pair(() => ({})), [4096, 4096]);
  // Rank 1's path is unknown (its switch does not resolve): SwitchML's 256 for everyone.
  assert.equal(await pair((rank) => (rank === 1 ? { switch: 'no-such-switch.invalid:48864' } : {})), [256, 256]);
  process.env['WEBCCL_SWITCH_PACKET_VALUES'] = '2048';
  assert.equal(await pair(() => ({})), [2048, 2048]);
  process.env['WEBCCL_SWITCH_PACKET_VALUES'] = '1000';
  const lone = async () => getUniqueId({ transport: 'inproc' });
  assert.match(await code(Communicator.init({ id: await lone(), rank: 0, size: 1, switch: '127.0.0.1:1' })), /InvalidArgument: .*WEBCCL_SWITCH_PACKET_VALUES=1000 is not 'auto' or a power of two from 32 to 4096/);
  delete process.env['WEBCCL_SWITCH_PACKET_VALUES'];
  assert.match(await code(Communicator.init({ id: await lone(), rank: 0, size: 1, switch: '127.0.0.1:1', switchPacketValues: 8192 })), /InvalidArgument: .*switchPacketValues 8192 is not 'auto'/);
});

test('init with a given transport: it must match rank and size, and destroy leaves it open', async () => {
  const name = `init-${Math.random()}`;
  const transport = connectInproc(name, 0, 1);
  assert.match(await code(Communicator.init({ rank: 0, size: 2, transport })), /InvalidArgument: init: the transport is rank 0 of 1/);
  const comm = await Communicator.init({ rank: 0, size: 1, transport });
  await comm.destroy();
  // Still open: a new communicator can use it.
  const again = await Communicator.init({ rank: 0, size: 1, transport });
  await again.barrier();
  await again.destroy();
  await transport.close();
});

test.run();
