// The board's single copy (native/src/board.cc, advance_single_copy): large allgathers and
// broadcasts read straight from the peers' views with process_vm_readv. The oracle bit for bit
// through both paths (the lanes: WEBCCL_BOARD_SINGLE_COPY_BYTES=off; single copy: a threshold of
// one byte, so that every call takes it) at 2-4 ranks, every dtype, counts 1, odd and over a
// lane buffer, in and out of place, in ArrayBuffers and SharedArrayBuffers; the ranks agree on
// the path (one rank turned off turns it off everywhere); an owner does not return before its
// peers read (a delayed reader still gets the root's data when the root overwrites it at once);
// a root that dies before its peer reads is a RemoteError naming it, never a crash.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { Communicator, getUniqueId } from '../lib/index.node.js';
import { elementBytes, type DataType, type ElementArray } from '../lib/dtype.js';
import { boardSegmentName, NativeBoardSession } from '../lib/native/board.js';
import { nativeAddon } from '../lib/native/load.js';
import { BOARD_BUFFER_BYTES } from '../lib/transport/board.js';
import { checkAllGather, checkBroadcast, HOST_MEMORY, type CheckMemory } from './helpers/collective-checks.js';
import { destroyWorld, DTYPES } from './helpers/comm-world.js';
import { requireAddon } from './helpers/native-transports.js';
import { within } from './within.js';
import { checkKilledRoot } from './helpers/board-killed-root.js';

const load = requireAddon('shm');
if (!('addon' in load)) throw new Error('unreachable');
const { addon } = load;
/** Single-copy calls of `from` so far (communicators use the default build even when SHM_ADDON names another). */
const singleCopyCalls = (from = addon) => from.boardCounters!().singleCopyCalls;
const communicatorAddon = nativeAddon()!;

/** Runs `body` with environment variable `name` set to `value` (restored after). */
async function withEnv<T>(name: string, value: string, body: () => Promise<T>): Promise<T> {
  const before = process.env[name];
  process.env[name] = value;
  try {
    return await body();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

/** Buffers in SharedArrayBuffers (memory of this process like any other: the peers read them the same way). */
const SHARED_MEMORY: CheckMemory<ElementArray> = {
  place: (data) => {
    const Kind = data.constructor as new (buffer: SharedArrayBuffer) => ElementArray;
    const shared = new Kind(new SharedArrayBuffer(data.byteLength));
    shared.set(data);
    return shared;
  },
  block: HOST_MEMORY.block,
  read: HOST_MEMORY.read,
};

/** A board world of `size` (communicators in this process), its boards opened with WEBCCL_BOARD_SINGLE_COPY_BYTES=`setting`. */
async function boardWorld(size: number, setting: string): Promise<Communicator[]> {
  return withEnv('WEBCCL_BOARD_SINGLE_COPY_BYTES', setting, async () => {
    const id = await getUniqueId({ transport: 'shm' });
    const comms = await Promise.all(Array.from({ length: size }, (_, rank) => Communicator.init({ id, rank, size, timeoutMs: 20_000, algorithm: 'board' })));
    // Boards open on a communicator's first call: one here, while the setting holds.
    await checkAllGather(comms, 1, 'float32', true);
    return comms;
  });
}

/** Counts 1, odd, and more than a lane buffer per rank (the lanes would take two chunks, the last ragged). */
const counts = (dtype: DataType) => [1, 1001, Math.floor((1.3 * BOARD_BUFFER_BYTES) / elementBytes(dtype)) + 7];

for (const [path, setting] of [['single copy', '1'], ['the lanes (single copy off)', 'off']] as const) {
  test(`allGather and broadcast through ${path} match the oracle bit for bit: 2-4 ranks, every dtype and root, counts 1, odd and large, in and out of place, ArrayBuffer and SharedArrayBuffer`, async () => {
    for (const size of [2, 3, 4]) {
      const comms = await boardWorld(size, setting);
      const before = singleCopyCalls(communicatorAddon);
      let flip = false;
      for (const dtype of DTYPES) {
        for (const count of counts(dtype)) {
          const memory = (flip = !flip) ? HOST_MEMORY : SHARED_MEMORY;
          await within((async () => {
            await checkAllGather(comms, count, dtype, flip, memory);
            await checkAllGather(comms, count, dtype, !flip, memory);
            for (let root = 0; root < size; root++) await checkBroadcast(comms, count, dtype, root, root % 2 === 0, 'board', memory);
          })(), 30_000, `${size} ranks ${dtype} count ${count} through ${path}`);
        }
      }
      const calls = singleCopyCalls(communicatorAddon) - before;
      // Every rank counts each call once: 2 allgathers and `size` broadcasts per dtype and count.
      const expected = setting === 'off' ? 0 : size * DTYPES.length * 3 * (2 + size);
      assert.equal(calls, expected, `single-copy calls at ${size} ranks through ${path}`);
      await destroyWorld(comms);
    }
  });
}

/** Sessions of one fresh board name, rank r opened with WEBCCL_BOARD_SINGLE_COPY_BYTES=settings[r]. */
function sessions(settings: readonly string[], timeoutMs = 10_000): NativeBoardSession[] {
  const name = boardSegmentName(randomBytes(16).toString('hex'), 'single-copy');
  const size = settings.length;
  return settings.map((setting, rank) => {
    process.env['WEBCCL_BOARD_SINGLE_COPY_BYTES'] = setting;
    try {
      return new NativeBoardSession(addon, name, rank, size, BOARD_BUFFER_BYTES, timeoutMs);
    } finally {
      delete process.env['WEBCCL_BOARD_SINGLE_COPY_BYTES'];
    }
  });
}

async function broadcast(boards: readonly NativeBoardSession[], data: readonly Uint8Array[], root: number, stamp: number, after?: (rank: number) => void): Promise<void> {
  await within(Promise.all(boards.map(async (board, rank) => {
    const call = board.forCall(stamp);
    try {
      await call.run(data[rank]!, { collective: 'broadcast', dtype: 'uint32', root });
      after?.(rank);
    } finally {
      call.done();
    }
  })), 20_000, 'broadcast on the board');
}

test('the ranks agree on the path: the largest threshold wins, and one rank turned off turns single copy off everywhere, naming it', async () => {
  const agreed = sessions(['4096', '65536', '1024']);
  const bytes = [0, 1, 2].map(() => new Uint8Array(64));
  await broadcast(agreed, bytes, 0, 1);
  for (const board of agreed) assert.equal(board.singleCopy(), { fromBytes: 65536, off: '' });
  for (const board of agreed) board.close();

  const off = sessions(['1', 'off', '1']);
  await broadcast(off, bytes, 0, 1);
  for (const board of off) {
    const state = board.singleCopy();
    assert.is(state?.fromBytes, null);
    assert.match(state!.off, /rank 1/);
  }
  for (const board of off) board.close();
});

test('an owner returns only once its peers read: a root that overwrites its data as soon as its broadcast resolves does not reach a slow reader', async () => {
  // The reader sleeps 1 s between the root's publishing and its read; without the completion
  // arrival the root's call resolves first, and the reader copies the overwritten bytes.
  const boards = await withEnv('WEBCCL_BOARD_TEST_READ_DELAY_MS', '1000', async () => sessions(['1', '1']));
  const bytes = 4 << 20;
  const data = [new Uint8Array(bytes).fill(0xa5), new Uint8Array(bytes)];
  const calls = singleCopyCalls();
  await broadcast(boards, data, 0, 1, (rank) => {
    if (rank === 0) data[0]!.fill(0x5a);
  });
  assert.ok(singleCopyCalls() > calls, 'the broadcast went by single copy');
  const wrong = data[1]!.findIndex((byte) => byte !== 0xa5);
  assert.is(wrong, -1, `the reader's byte ${wrong} is ${data[1]![wrong]}, not the root's 0xa5`);
  for (const board of boards) board.close();
});

test('a root that dies after publishing its data, before its peer read it, is a RemoteError naming it on the survivor, never a crash', async () => {
  await checkKilledRoot(addon, 1 << 20, { WEBCCL_BOARD_SINGLE_COPY_BYTES: '1' });
});

test.run();
