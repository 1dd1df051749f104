// Host buffers (Communicator.allocHostBuffer, native/src/host-buffer.cc) and the board's direct
// reads (native/src/board.cc, resolve_sources): large allgathers and broadcasts whose views lie in
// host buffers are read straight from the owners' buffers. The oracle bit for bit through that
// path (2-4 ranks, every dtype and root, counts 1 and odd below the threshold, over it and over a
// lane buffer, in and out of place), with the path taken counted; only some ranks with host
// buffers (the lanes for the others); an owner does not return before a slow reader read; a
// buffer freed during a call, a view of a freed one, sizes that differ; a dead owner named; no
// mapping of a freed buffer left in any rank, nothing left in /dev/shm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Communicator, getUniqueId } from '../lib/index.node.js';
import { elementBytes, type DataType, type ElementArray } from '../lib/dtype.js';
import { WebcclError } from '../lib/errors.js';
import { boardSegmentName, NativeBoardSession } from '../lib/native/board.js';
import { nativeAddon } from '../lib/native/load.js';
import { BOARD_BUFFER_BYTES } from '../lib/transport/board.js';
import { checkAllGather, checkBroadcast, HOST_MEMORY, type CheckMemory } from './helpers/collective-checks.js';
import { createWorld, destroyWorld, DTYPES } from './helpers/comm-world.js';
import { requireAddon, shmLeftovers } from './helpers/native-transports.js';
import { rejection, within } from './within.js';
import { checkKilledRoot } from './helpers/board-killed-root.js';
import { hostBufferMemory } from './helpers/host-buffer-memory.js';

const load = requireAddon('shm');
if (!('addon' in load)) throw new Error('unreachable');
const boardAddon = load.addon;
const addon = nativeAddon()!;
const counters = () => addon.boardCounters!();
/**
 * Where the direct path starts (board.cc's Board::publishes): an allgather whose block fills a
 * lane buffer, a broadcast whose data takes more than one.
 */
const allGatherDirect = (blockBytes: number) => blockBytes >= BOARD_BUFFER_BYTES;
const broadcastDirect = (bytes: number) => bytes > BOARD_BUFFER_BYTES;

/** Lines of this process's memory map that are host buffers (its own and the peers' it mapped). */
const hostBufferMappings = () => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.includes('webccl-host-buffer')).length;

async function boardWorld(size: number): Promise<{ comms: Communicator[]; id: string }> {
  const id = await getUniqueId({ transport: 'shm' });
  const comms = await Promise.all(Array.from({ length: size }, (_, rank) => Communicator.init({ id, rank, size, timeoutMs: 20_000, algorithm: 'board' })));
  return { comms, id };
}

test('allGather and broadcast from host buffers match the oracle bit for bit: 2-4 ranks, every dtype and root, counts 1, odd and 64 KiB (lanes), one lane buffer (allGather direct, broadcast lanes) and 1.3 (direct), in and out of place; freed buffers unmapped everywhere, /dev/shm clean', async () => {
  for (const size of [2, 3, 4]) {
    const { comms, id } = await boardWorld(size);
    const memory = hostBufferMemory(comms[0]!);
    const before = counters().hostBufferCalls;
    let direct = 0;
    for (const dtype of DTYPES) {
      const e = elementBytes(dtype);
      for (const count of [1, 1001, (64 << 10) / e + 3, BOARD_BUFFER_BYTES / e, Math.floor((1.3 * BOARD_BUFFER_BYTES) / e) + 7]) {
        await within((async () => {
          await checkAllGather(comms, count, dtype, true, memory);
          await checkAllGather(comms, count, dtype, false, memory);
          for (let root = 0; root < size; root++) await checkBroadcast(comms, count, dtype, root, root % 2 === 0, 'board', memory);
        })(), 30_000, `${size} ranks ${dtype} count ${count}`);
        direct += (allGatherDirect(count * e) ? 2 : 0) + (broadcastDirect(count * e) ? size : 0);
        memory.freeAll();
      }
    }
    // Every rank counts each direct call once.
    assert.is(counters().hostBufferCalls - before, size * direct, `direct calls at ${size} ranks`);
    // Every buffer so far is freed: at their next direct call the ranks unmap their peers' (one
    // mapping per buffer and rank left: each rank's own and its peers' of it).
    await checkAllGather(comms, BOARD_BUFFER_BYTES / 4, 'float32', true, memory);
    assert.ok(hostBufferMappings() <= size * size, `${hostBufferMappings()} host buffer mappings with ${size} buffers live at ${size} ranks`);
    memory.freeAll();
    // The peers unmap what was freed at their next direct call; destroy unmaps the rest.
    await destroyWorld(comms);
    assert.is(addon.hostBufferCount!(), 0, 'every host buffer freed');
    assert.is(hostBufferMappings(), 0, `no host buffer mapped after destroy at ${size} ranks`);
    assert.equal(shmLeftovers(id), [], 'nothing left in /dev/shm');
  }
});

test('only some ranks with host buffers: allGather reads those directly and the others through the lanes; a broadcast whose root has one is direct whatever the others pass', async () => {
  const { comms } = await boardWorld(3);
  const memory = hostBufferMemory(comms[0]!);
  const onRank1: CheckMemory<ElementArray> = { ...HOST_MEMORY, place: (data) => (placements++ % 3 === 1 ? memory.place(data) : data.slice()) };
  let placements = 0;
  for (const count of [BOARD_BUFFER_BYTES / 4 + 5, Math.floor((2.5 * BOARD_BUFFER_BYTES) / 4) + 1]) {
    const mixed = counters().hostBufferMixedCalls, all = counters().hostBufferCalls;
    placements = 0;
    await within(checkAllGather(comms, count, 'float32', true, onRank1), 30_000, `mixed allGather of ${count}`);
    assert.is(counters().hostBufferMixedCalls - mixed, 3, 'one mixed call per rank');
    placements = 0;
    await within(checkBroadcast(comms, count, 'int32', 1, true, 'board', onRank1), 30_000, `broadcast from the host buffer of ${count}`);
    assert.is(counters().hostBufferCalls - all, 3, 'the root has a host buffer: direct on every rank');
    placements = 0;
    await within(checkBroadcast(comms, count, 'int32', 0, true, 'board', onRank1), 30_000, `broadcast to a host buffer of ${count}`);
    assert.is(counters().hostBufferCalls - all, 3, 'the root has none: the lanes');
    memory.freeAll();
  }
  await destroyWorld(comms);
});

/** Sessions of one fresh board name at `size` ranks (test hooks read from the environment at open). */
function sessions(size: number, env: Record<string, string> = {}, timeoutMs = 10_000, name = boardSegmentName(randomBytes(16).toString('hex'), 'host-buffers'), ranks = Array.from({ length: size }, (_, rank) => rank)): NativeBoardSession[] {
  Object.assign(process.env, env);
  try {
    return ranks.map((rank) => new NativeBoardSession(boardAddon, name, rank, size, BOARD_BUFFER_BYTES, timeoutMs));
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
  }
}

test('an owner returns only once its peers read: a root (direct) or an allGather rank (mixed) that overwrites its host buffer as soon as its call resolves does not reach a slow reader', async () => {
  for (const collective of ['broadcast', 'allGather'] as const) {
    // The allGather's blocks fill one lane buffer: one chunk, after which the owner (lanes alone) would return at once.
    const bytes = collective === 'broadcast' ? 4 << 20 : 2 * BOARD_BUFFER_BYTES;
    // The reader sleeps 1 s between the publishing and its read: without the last arrival the
    // owner's call resolves first, and the reader copies the overwritten bytes.
    const name = boardSegmentName(randomBytes(16).toString('hex'), 'slow-reader');
    const boards = [...sessions(2, {}, 10_000, name, [0]), ...sessions(2, { WEBCCL_BOARD_TEST_READ_DELAY_MS: '1000' }, 10_000, name, [1])];
    const data = [new Uint8Array(addon.allocHostBuffer!(bytes)), new Uint8Array(bytes)];
    data[0]!.fill(0xa5, 0, collective === 'broadcast' ? bytes : bytes / 2);
    const before = counters();
    await within(Promise.all(boards.map(async (board, rank) => {
      const call = board.forCall(1);
      try {
        await call.run(data[rank]!, { collective, dtype: 'uint32', root: 0 });
        if (rank === 0) data[0]!.fill(0x5a);
      } finally {
        call.done();
      }
    })), 20_000, collective);
    const path = collective === 'broadcast' ? 'hostBufferCalls' : 'hostBufferMixedCalls';
    assert.is(counters()[path] - before[path], 2, `${collective}: ${path}`);
    const got = data[1]!.subarray(0, collective === 'broadcast' ? bytes : bytes / 2);
    const wrong = got.findIndex((byte) => byte !== 0xa5);
    assert.is(wrong, -1, `${collective}: the reader's byte ${wrong} is ${got[wrong]}, not the owner's 0xa5`);
    for (const board of boards) board.close();
    addon.freeHostBuffer!(data[0]!.buffer as ArrayBuffer);
  }
});

test('freeing a host buffer while a call uses it (board or ring) is InvalidUsage; a view of a freed one given to a call is InvalidArgument saying so; a second free and a foreign buffer are refused', async () => {
  const { comms } = await boardWorld(2);
  const count = 1 << 18;
  const buffers = comms.map((comm) => new Float32Array(comm.allocHostBuffer(count * 4)));
  // Rank 0 alone: its call waits for rank 1, which has not called yet.
  const first = comms[0]!.broadcast(buffers[0]!, buffers[0]!, count, 'float32', 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.throws(() => comms[0]!.freeHostBuffer(buffers[0]!), (error: unknown) => error instanceof WebcclError && error.code === 'InvalidUsage' && /in use by a call in flight/.test(error.message));
  await within(Promise.all([first, comms[1]!.broadcast(buffers[1]!, buffers[1]!, count, 'float32', 0)]), 20_000, 'the broadcast');
  // Any path, not only the board's: a ring allReduce holds its buffers too.
  const ring = comms[0]!.allReduce(buffers[0]!, buffers[0]!, count, 'float32', 'sum', { algorithm: 'ring' });
  assert.throws(() => comms[0]!.freeHostBuffer(buffers[0]!), /in use by a call in flight/);
  await within(Promise.all([ring, comms[1]!.allReduce(buffers[1]!, buffers[1]!, count, 'float32', 'sum', { algorithm: 'ring' })]), 20_000, 'the ring allReduce');
  for (const [rank, comm] of comms.entries()) comm.freeHostBuffer(buffers[rank]!);
  assert.is(buffers[0]!.length, 0, 'a freed buffer\'s views are empty');
  const error = await rejection(comms[0]!.broadcast(buffers[0]!, buffers[0]!, count, 'float32', 0), 10_000, 'a call on a freed view');
  assert.instance(error, WebcclError);
  assert.is((error as WebcclError).code, 'InvalidArgument');
  assert.match(error.message, /host buffer that was freed \(freeHostBuffer\)/);
  assert.throws(() => comms[0]!.freeHostBuffer(buffers[0]!), /freed already/);
  assert.throws(() => comms[0]!.freeHostBuffer(new Float32Array(4)), /not a buffer of allocHostBuffer/);
  await destroyWorld(comms);
});

test('the addon itself refuses to free a host buffer that a board call still holds (below the communicator\'s own check), and frees it once the call is done', async () => {
  const boards = sessions(2);
  const views = [0, 1].map(() => new Uint8Array(addon.allocHostBuffer!(256 << 10)));
  const calls = boards.map((board) => board.forCall(1));
  const first = calls[0]!.run(views[0]!, { collective: 'broadcast', dtype: 'uint32', root: 0 });
  assert.throws(() => addon.freeHostBuffer!(views[0]!.buffer as ArrayBuffer), /in use by a call in flight/);
  await within(Promise.all([first, calls[1]!.run(views[1]!, { collective: 'broadcast', dtype: 'uint32', root: 0 })]), 20_000, 'the broadcast');
  for (const call of calls) call.done();
  for (const view of views) addon.freeHostBuffer!(view.buffer as ArrayBuffer);
  for (const board of boards) board.close();
});

test('without a board (inproc) allocHostBuffer gives an ordinary ArrayBuffer that calls use like any other; freeHostBuffer detaches it, and a call given a view of it is InvalidArgument', async () => {
  const comms = await createWorld(2);
  const buffers = comms.map((comm) => new Int32Array(comm.allocHostBuffer(4 * 1000)));
  buffers.forEach((buffer, rank) => buffer.fill(rank + 1));
  await within(Promise.all(comms.map((comm, rank) => comm.allReduce(buffers[rank]!, buffers[rank]!, 1000, 'int32', 'sum'))), 20_000, 'the allReduce');
  assert.ok(buffers.every((buffer) => buffer.every((value) => value === 3)), 'every element 1 + 2');
  for (const [rank, comm] of comms.entries()) comm.freeHostBuffer(buffers[rank]!);
  assert.is(buffers[0]!.length, 0);
  const error = await rejection(comms[0]!.allReduce(buffers[0]!, buffers[0]!, 1000, 'int32', 'sum'), 10_000, 'a call on a freed view');
  assert.is((error as WebcclError).code, 'InvalidArgument');
  assert.match(error.message, /host buffer that was freed/);
  await destroyWorld(comms);
});

test('ranks whose host-buffer views differ in size reject with a mismatch naming both, within the timeout', async () => {
  const boards = sessions(2, {}, 3_000);
  // Blocks of one and two lane buffers: both publish (the lanes would not see the difference).
  const views = [new Uint8Array(addon.allocHostBuffer!(2 * BOARD_BUFFER_BYTES)), new Uint8Array(addon.allocHostBuffer!(4 * BOARD_BUFFER_BYTES))];
  const errors = await Promise.all(boards.map(async (board, rank) => {
    const call = board.forCall(1);
    try {
      return await rejection(call.run(views[rank]!, { collective: 'allGather', dtype: 'uint32' }), 10_000, `rank ${rank}'s allGather`);
    } finally {
      call.done();
    }
  }));
  for (const [rank, error] of errors.entries()) {
    assert.is((error as WebcclError).code, 'InvalidUsage', `rank ${rank}: ${error.message}`);
    assert.match(error.message, rank === 0 ? /mismatch: rank 1's view holds 4194304 bytes, rank 0's 2097152/ : /mismatch: rank 0's view holds 2097152 bytes, rank 1's 4194304/);
  }
  for (const board of boards) board.close();
  for (const view of views) addon.freeHostBuffer!(view.buffer as ArrayBuffer);
});

test('a root killed after publishing its host buffer, before its peer mapped it, is a RemoteError naming it on the survivor, never a crash; nothing left in /dev/shm', async () => {
  // More than one lane buffer: the direct path (its peer maps the buffer after the kill).
  const name = await checkKilledRoot(boardAddon, 2 * BOARD_BUFFER_BYTES, {}, ['host-buffer']);
  assert.equal(readdirSync('/dev/shm').filter((entry) => entry.includes(name.slice(1, 30))), [], 'nothing left in /dev/shm');
});

test.run();
