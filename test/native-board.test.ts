// The native board (native/src/board.cc through lib/native/board.ts) without a communicator:
// a stale segment of a dead creator is replaced and one of a live process refused; a rank that
// never arrives is a Timeout naming it; close fails a call in flight; nothing stays in /dev/shm;
// bad run arguments (kind, root, blocks, partial elements, a view that is none) are clear errors; the small calls
// whose data rides in the slot (up to 16 bytes) and those just over it give exact results.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { WebcclError } from '../lib/errors.js';
import { boardSegmentName, NativeBoardSession } from '../lib/native/board.js';
import { BOARD_BUFFER_BYTES } from '../lib/transport/board.js';
import { requireAddon } from './helpers/native-transports.js';
import { rejection, within } from './within.js';

const load = requireAddon('shm');
if (!('addon' in load)) throw new Error('unreachable');
const { addon } = load;

/** Two ranks' sessions of a fresh board name (and that name in /dev/shm). */
function pair(timeoutMs: number, key = 'pair'): { sessions: NativeBoardSession[]; file: string } {
  const name = boardSegmentName(randomBytes(16).toString('hex'), key);
  return { sessions: [0, 1].map((rank) => new NativeBoardSession(addon, name, rank, 2, BOARD_BUFFER_BYTES, timeoutMs)), file: `/dev/shm${name}` };
}

async function sum(sessions: readonly NativeBoardSession[], stamp: number): Promise<Float32Array[]> {
  const data = sessions.map((_, r) => Float32Array.of(r + 1, 10 * (r + 1)));
  await within(Promise.all(sessions.map((s, r) => {
    const call = s.forCall(stamp);
    return call.run(new Uint8Array(data[r]!.buffer), { collective: 'allReduce', dtype: 'float32', op: 'sum' }).finally(() => call.done());
  })), 10_000, 'allReduce on the board');
  return data;
}

/** Rank 0's 8-byte allreduce `stamp`, which rank 1 never joins: a Timeout naming rank 1, well within 5 s (the pairs' timeouts are shorter). */
async function timesOut(session: NativeBoardSession, stamp: number, what: string): Promise<void> {
  const started = Date.now();
  const call = session.forCall(stamp);
  const error = await rejection(call.run(new Uint8Array(8), { collective: 'allReduce', dtype: 'float32', op: 'sum' }), 10_000, what) as WebcclError;
  call.done();
  assert.is(error.code, 'Timeout', what);
  assert.match(error.message, /rank 1 did not arrive within the timeout/, what);
  assert.ok(Date.now() - started < 5000, `${what}: ${Date.now() - started} ms`);
}

/** A /dev/shm file where the board's segment would be, whose header names `creator` (board.cc's BoardHeader: magic, ranks, buffer bytes, creator pid). */
function plantSegment(file: string, creator: number): void {
  const header = Buffer.alloc(4096);
  header.writeUInt32LE(0x57434342, 0);
  header.writeUInt32LE(2, 4);
  header.writeBigUInt64LE(BigInt(BOARD_BUFFER_BYTES), 8);
  header.writeInt32LE(creator, 16);
  writeFileSync(file, header, { mode: 0o600 });
}

test('two ranks reduce on a fresh board; the name is gone once both attached, and after close', async () => {
  const { sessions, file } = pair(10_000);
  const [a, b] = await sum(sessions, 7);
  assert.equal([...a!], [3, 30]);
  assert.equal([...b!], [3, 30]);
  assert.not.ok(existsSync(file), 'unlinked once every rank mapped it');
  for (const s of sessions) s.close();
});

test("a stale segment (its creator dead) is replaced; one whose creator lives is refused, naming the process", async () => {
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout.trim());
  {
    const name = boardSegmentName(randomBytes(16).toString('hex'), 'stale');
    plantSegment(`/dev/shm${name}`, deadPid);
    const sessions = [0, 1].map((rank) => new NativeBoardSession(addon, name, rank, 2, BOARD_BUFFER_BYTES, 10_000));
    const [a] = await sum(sessions, 1);
    assert.equal([...a!], [3, 30]);
    assert.not.ok(existsSync(`/dev/shm${name}`));
    for (const s of sessions) s.close();
  }
  {
    const name = boardSegmentName(randomBytes(16).toString('hex'), 'live');
    plantSegment(`/dev/shm${name}`, process.ppid);
    const sessions = [0, 1].map((rank) => new NativeBoardSession(addon, name, rank, 2, BOARD_BUFFER_BYTES, 2000));
    const error = await rejection(sum(sessions, 1), 10_000, 'a board over a live process\'s segment');
    assert.instance(error, WebcclError);
    assert.match(error.message, new RegExp(`in use by live process ${process.ppid}`));
    for (const s of sessions) s.close();
    assert.ok(existsSync(`/dev/shm${name}`), 'the live process\'s segment is left alone');
    spawnSync('rm', ['-f', `/dev/shm${name}`]);
  }
});

test('a rank that does not arrive is a Timeout naming it, within the timeout; close fails a call in flight', async () => {
  const { sessions } = pair(1500);
  await sum(sessions, 1);
  await timesOut(sessions[0]!, 2, 'a call rank 1 never joins');
  for (const s of sessions) s.close();

  const other = pair(30_000);
  await sum(other.sessions, 1);
  const waiting = other.sessions[0]!.forCall(2).run(new Uint8Array(8), { collective: 'allReduce', dtype: 'float32', op: 'sum' });
  setTimeout(() => other.sessions[0]!.close(), 50);
  const closed = await rejection(waiting, 5000, 'a call whose board is closed') as WebcclError;
  assert.match(closed.message, /closed/);
  other.sessions[1]!.close();
});

test("a small call made before the board attached, which rank 1 never joins, is a Timeout too", async () => {
  // A small call reads the clock first when it polls on this thread (board.cc, run_here): one
  // made while the board still attaches goes straight to the board's thread, which must start
  // its clock then (hand_over); one that never started it would wait forever.
  const { sessions } = pair(1000);
  assert.is(sessions[0]!.singleCopy(), null, 'still attaching');
  await timesOut(sessions[0]!, 1, 'a call made while attaching that rank 1 never joins');
  for (const s of sessions) s.close();
});

test('calls of up to 16 bytes (carried in the slot) and just over (the lane), in turns, first rank waiting then last rank finding it there: exact results', async () => {
  // board.cc carries an allreduce's or reduce's data of up to 16 bytes in the slot's first line
  // (RankSlot::carried, double buffered by input phase). The rank that runs first arrives
  // alone, hands its call to the board thread and reads its peer's data once it arrived; the
  // second finds the first there at once. Values change every call, so data read from the slot
  // before its owner's arrival, or from the other phase's half, is the call before's.
  const { sessions } = pair(10_000);
  for (let i = 0; i < 120; i++) {
    const count = 1 + (i % 6);  // 4..24 bytes of int32: 1..4 elements carried, 5 and 6 in the lane
    const collective = i % 3 === 2 ? 'reduce' as const : 'allReduce' as const;
    const root = (i >> 2) % 2;
    const op = i % 4 === 1 ? 'max' as const : 'sum' as const;
    const data = [0, 1].map((r) => Int32Array.from({ length: count }, (_, j) => (i + 1) * 1000 + j * 10 + r * (j % 2 === 0 ? 3 : -3)));
    const expected = data[0]!.map((x, j) => (op === 'max' ? Math.max(x, data[1]![j]!) : x + data[1]![j]!));
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    await within(Promise.all(order.map((r) => {
      const call = sessions[r]!.forCall(i);
      return call.run(new Uint8Array(data[r]!.buffer), { collective, dtype: 'int32', op, root }).finally(() => call.done());
    })), 10_000, `call ${i}`);
    for (const r of collective === 'reduce' ? [root] : [0, 1]) {
      assert.equal([...data[r]!], [...expected], `call ${i}: ${collective} of ${count} int32 (${op}), rank ${r} first: ${order[0]}`);
    }
  }
  for (const s of sessions) s.close();
});

test('ranks that stamp different calls fail with InvalidUsage naming the other rank', async () => {
  const { sessions } = pair(10_000);
  const errors = await within(Promise.all(sessions.map((s, r) => s.forCall(r === 0 ? 5 : 6).run(new Uint8Array(8), { collective: 'allReduce', dtype: 'float32', op: 'sum' }).then(() => undefined, (e: unknown) => e as WebcclError))), 10_000, 'mismatch');
  assert.is(errors[0]?.code, 'InvalidUsage');
  assert.match(errors[0]!.message, /rank 1 runs another call/);
  assert.match(errors[1]!.message, /rank 0 runs another call/);
  for (const s of sessions) s.close();
});

test('bad run arguments are clear errors before anything is shared, and the board still works after them', async () => {
  const { sessions } = pair(10_000);
  const bad: [string, Parameters<ReturnType<NativeBoardSession['forCall']>['run']>, RegExp][] = [
    ['an unknown kind', [new Uint8Array(8), { collective: 'allToAll' as never, dtype: 'float32' }], /kind allToAll is not allReduce, reduce, reduceScatter, allGather or broadcast/],
    ['a root out of range', [new Uint8Array(8), { collective: 'broadcast', dtype: 'float32', root: 2 }], /root 2 is not a rank of 2/],
    ['unequal blocks', [new Uint8Array(12), { collective: 'reduceScatter', dtype: 'float32', op: 'sum' }], /reduceScatter's view of 3 elements is not 2 equal blocks/],
    ['a partial element', [new Uint8Array(6), { collective: 'allGather', dtype: 'float32' }], /not a whole number of elements/],
    ['an output for allReduce', [new Uint8Array(8), { collective: 'allReduce', dtype: 'float32', op: 'sum', output: new Uint8Array(8) }], /separate output is for reduceScatter only, not allReduce/],
    ['an output of the wrong size', [new Uint8Array(16), { collective: 'reduceScatter', dtype: 'float32', op: 'sum', output: new Uint8Array(4) }], /output of 4 bytes is not one block \(8 bytes\)/],
  ];
  for (const [what, args, message] of bad) {
    const call = sessions[0]!.forCall(3);
    const error = await rejection(call.run(...args), 5000, what) as WebcclError;
    call.done();
    assert.instance(error, WebcclError, what);
    assert.match(error.message, message, what);
  }
  const [a] = await sum(sessions, 4);
  assert.equal([...a!], [3, 30]);
  for (const s of sessions) s.close();
});

test('a view given as a DataView or any TypedArray reduces its bytes; anything else is a clear error', async () => {
  // native get_bytes asks for a TypedArray's info first and takes its answer for anything else
  // as "not one" (then a DataView, then the error): every kind must still find its bytes.
  const { sessions } = pair(10_000);
  const data = [Float32Array.of(1, 10), Float32Array.of(2, 20)];
  const views = [new DataView(data[0]!.buffer), data[1]!];
  await within(Promise.all(sessions.map((s, r) => {
    const call = s.forCall(5);
    return call.run(views[r] as never, { collective: 'allReduce', dtype: 'float32', op: 'sum' }).finally(() => call.done());
  })), 10_000, 'allReduce of a DataView and a Float32Array');
  assert.equal([...data[0]!], [3, 30]);
  assert.equal([...data[1]!], [3, 30]);
  const call = sessions[0]!.forCall(6);
  const error = await rejection(call.run(new ArrayBuffer(8) as never, { collective: 'allReduce', dtype: 'float32', op: 'sum' }), 5000, 'an ArrayBuffer as the view') as WebcclError;
  call.done();
  assert.match(error.message, /view must be a TypedArray or DataView/);
  for (const s of sessions) s.close();
});

test.run();
