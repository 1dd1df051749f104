// The switch's aggregation rules, one by one, on the data plane alone (no sockets).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JobDataPlane, type JobPlane, type JobShape, type Verdict } from '../lib/switch/data-plane.js';
import { nativeAddon } from '../lib/native/load.js';
import { NativeUdpDoor } from '../lib/switch/native-door.js';
import { decodePacket, encodePacket, MSG_RESULT, MSG_UPDATE, valueAt } from '../lib/switch/packet.js';
import { generator } from './helpers/switch-job.js';
import { PLANES } from './helpers/switch-planes.js';

const shape = { job: 3, workers: 3, slotBase: 100, slots: 4, sizeClass: 0 };

function update(slot: number, copy: 0 | 1, values: number[], extra: Partial<{ e0: number; e1: number; job: number; packetId: number; sizeClass: number; type: 1 | 2; exponentsOnly: boolean }> = {}): Uint8Array {
  return encodePacket({ type: MSG_UPDATE, sizeClass: 0, job: 3, packetId: 40 + slot, slot, copy, e0: -100, e1: -100, ...extra }, values);
}

/** The native plane's jobs, made without workers' UDP addresses: every result comes back to the caller, as for WebSocket workers. */
const door = NativeUdpDoor.bind(nativeAddon()!, '127.0.0.1', 0, {}, () => {});
const planes: Record<(typeof PLANES)[number], (shape: JobShape) => JobPlane> = {
  js: (shape) => new JobDataPlane(shape),
  native: (shape) => door.planes.create(shape, Array.from({ length: shape.workers }, () => undefined)),
};

function result(verdict: Verdict): { kind: string; values: number[]; e0: number; e1: number; slot: number; copy: number; packetId: number; type: number } {
  if (verdict.kind !== 'multicast' && verdict.kind !== 'unicast') throw new Error(`expected a result, got ${JSON.stringify(verdict)}`);
  const decoded = decodePacket(verdict.bytes);
  if (!decoded.ok) throw new Error(decoded.reason);
  const p = decoded.packet;
  // An exponents-only result has no values: [] (a full one's first three).
  return { kind: verdict.kind, values: p.exponentsOnly ? [] : [0, 1, 2].map((i) => valueAt(p.values, i)), e0: p.e0, e1: p.e1, slot: p.slot, copy: p.copy, packetId: p.packetId, type: p.type };
}

for (const kind of PLANES) {
  const test = suite(`${kind} data plane`);
  const make = planes[kind];

  test('the last arrival completes the copy: multicast of the sums, max exponents, same slot, copy and packet id', () => {
    const plane = make(shape);
    assert.is(plane.receiveBytes(0, update(101, 0, [1, 2, 3], { e0: 5, e1: -7 })).kind, 'absorbed');
    assert.is(plane.receiveBytes(2, update(101, 0, [10, 20, 30], { e0: 9, e1: -9 })).kind, 'absorbed');
    const r = result(plane.receiveBytes(1, update(101, 0, [100, 200, 300], { e0: -1, e1: -8 })));
    assert.equal(r, { kind: 'multicast', values: [111, 222, 333], e0: 9, e1: -7, slot: 101, copy: 0, packetId: 141, type: MSG_RESULT });
    assert.equal(plane.counters, { packetsIn: 3, packetsOut: 3, retransmissions: 0, stale: 0, droppedIncomplete: 0, wrongJob: 0, malformed: 0 });
  });

  test('sums wrap around in int32', () => {
    const plane = make({ ...shape, workers: 2 });
    plane.receiveBytes(0, update(100, 0, [0x7fffffff, -0x80000000]));
    assert.equal(result(plane.receiveBytes(1, update(100, 0, [1, -1]))).values, [-0x80000000, 0x7fffffff, 0]);
  });

  test('a retransmission to an incomplete copy only reads: dropped, sums unchanged', () => {
    const plane = make(shape);
    plane.receiveBytes(0, update(100, 0, [1, 1, 1]));
    const again = plane.receiveBytes(0, update(100, 0, [1, 1, 1]));
    assert.equal(again, { kind: 'drop', reason: 'retransmission to an incomplete slot' });
    plane.receiveBytes(1, update(100, 0, [2, 2, 2]));
    assert.equal(result(plane.receiveBytes(2, update(100, 0, [4, 4, 4]))).values, [7, 7, 7]);
    assert.is(plane.counters.retransmissions, 1);
    assert.is(plane.counters.droppedIncomplete, 1);
  });

  test('a retransmission to a completed copy gets the stored result by unicast, without adding', () => {
    const plane = make(shape);
    for (const w of [0, 1, 2]) plane.receiveBytes(w, update(102, 1, [w + 1, 0, 0]));
    const r = result(plane.receiveBytes(1, update(102, 1, [2, 0, 0])));
    assert.equal([r.kind, r.values, r.copy], ['unicast', [6, 0, 0], 1]);
    assert.is(plane.counters.packetsOut, 4);
  });

  test('the next round on the other copy clears the worker\'s bit in this one; an empty bitmap overwrites', () => {
    const plane = make({ ...shape, workers: 2 });
    plane.receiveBytes(0, update(100, 0, [5, 5, 5]));
    plane.receiveBytes(1, update(100, 0, [5, 5, 5])); // copy 0 complete: 10
    plane.receiveBytes(0, update(100, 1, [1, 1, 1]));
    // Worker 1 has not moved on: its retransmission to copy 0 still reads the completed result.
    assert.equal(result(plane.receiveBytes(1, update(100, 0, [5, 5, 5]))).values, [10, 10, 10]);
    assert.equal(result(plane.receiveBytes(1, update(100, 1, [2, 2, 2]))).values, [3, 3, 3]);
    // Both workers have now cleared their bits in copy 0: the next round there overwrites the old sums.
    plane.receiveBytes(1, update(100, 0, [7, 7, 7], { e0: -120 }));
    const r = result(plane.receiveBytes(0, update(100, 0, [1, 0, 0], { e0: -125 })));
    assert.equal([r.values, r.e0], [[8, 7, 7], -120]);
  });

  test('rule 0: a delayed duplicate of an older packet in the slot is dropped, not allowed to clear a bit', () => {
    const plane = make({ ...shape, workers: 2 });
    const at = (copy: 0 | 1, packetId: number, values: number[]) => update(100, copy, values, { packetId });
    plane.receiveBytes(0, at(0, 10, [1, 1, 1]));
    plane.receiveBytes(1, at(0, 10, [1, 1, 1])); // packet 10 complete
    plane.receiveBytes(0, at(1, 14, [5, 5, 5])); // worker 0 moves on to packet 14 (W = 4)
    // A stale duplicate of packet 10 from worker 0 arrives late: without rule 0 it would clear
    // worker 0's bit in copy 1, and its retransmission of 14 would then be added twice.
    assert.equal(plane.receiveBytes(0, at(0, 10, [1, 1, 1])), { kind: 'drop', reason: 'packet 10 is older than 14 in this slot' });
    assert.is(plane.receiveBytes(0, at(1, 14, [5, 5, 5])).kind, 'drop'); // a true retransmission, copy incomplete
    assert.equal(result(plane.receiveBytes(1, at(1, 14, [6, 6, 6]))).values, [11, 11, 11]);
    assert.is(plane.counters.stale, 1);
    // Packet ids wrap: 2^32 - 1 is older than 3.
    const wrap = make({ ...shape, workers: 2 });
    wrap.receiveBytes(0, update(100, 0, [1], { packetId: 3 }));
    assert.is(wrap.receiveBytes(0, update(100, 1, [1], { packetId: 0xffffffff })).kind, 'drop');
  });

  test('slots are the job\'s only: out of range, wrong size class, a result, or another job number are dropped and counted', () => {
    const plane = make(shape);
    const verdicts = [
      plane.receiveBytes(0, update(99, 0, [1])),
      plane.receiveBytes(0, update(104, 0, [1])),
      plane.receiveBytes(0, update(100, 0, [1], { job: 4 })),
      plane.receiveBytes(0, update(100, 0, [1], { type: MSG_RESULT })),
      plane.malformed('short datagram'),
    ];
    assert.ok(verdicts.every((v) => v.kind === 'drop'));
    assert.match((verdicts[0] as { reason: string }).reason, /slot 99 outside the job's \[100, 104\)/);
    assert.is(plane.counters.wrongJob, 1);
    assert.is(plane.counters.malformed, 4);
    // None of them touched slot 100: three honest packets still sum exactly.
    for (const w of [0, 1]) plane.receiveBytes(w, update(100, 0, [1, 2, 3]));
    assert.equal(result(plane.receiveBytes(2, update(100, 0, [1, 2, 3]))).values, [3, 6, 9]);
  });

  test('a wrong size class from a job member is malformed', () => {
    const plane = make(shape);
    const bytes = encodePacket({ type: MSG_UPDATE, sizeClass: 1, job: 3, packetId: 0, slot: 100, copy: 0, e0: 0, e1: 0 });
    assert.match((plane.receiveBytes(0, bytes) as { reason: string }).reason, /size class 1, job uses 0/);
  });

  test('job shapes that do not fit are refused', () => {
    assert.throws(() => make({ ...shape, workers: 33 }), /1 to 32 workers/);
    assert.throws(() => make({ ...shape, slotBase: 0x7fff, slots: 2 }), /15-bit pool index/);
    assert.throws(() => make({ ...shape, job: 256 }), /job number/);
  });

  test('exponents only: header-only packets stand for zeros; the copy answers header-only until values reach it, which overwrite, then add', () => {
    const plane = make(shape);
    const short = (slot: number, copy: 0 | 1, e0: number) => update(slot, copy, [], { e0, e1: -5, exponentsOnly: true });
    plane.receiveBytes(0, short(100, 0, 3));
    plane.receiveBytes(1, short(100, 0, 7));
    const r = result(plane.receiveBytes(2, short(100, 0, -2)));
    assert.equal([r.kind, r.values, r.e0, r.e1], ['multicast', [], 7, -5]);
    assert.equal(result(plane.receiveBytes(1, short(100, 0, 7))).kind, 'unicast', 'a retransmission gets the stored header-only result');
    // A mixed copy: zeros, then values that overwrite them, then values that add.
    plane.receiveBytes(0, short(101, 1, 1));
    plane.receiveBytes(1, update(101, 1, [1, 2, 3], { e0: 0, e1: 0 }));
    const mixed = result(plane.receiveBytes(2, update(101, 1, [10, 20, 30], { e0: 0, e1: 0 })));
    assert.equal([mixed.values, mixed.e0], [[11, 22, 33], 1]);
    // The copy's next round: a header-only packet on an empty bitmap leaves no old sums behind.
    plane.receiveBytes(0, update(101, 0, [5, 5, 5]));
    plane.receiveBytes(1, update(101, 0, [5, 5, 5]));
    plane.receiveBytes(2, update(101, 0, [5, 5, 5]));
    plane.receiveBytes(0, short(101, 1, 0));
    plane.receiveBytes(1, short(101, 1, 0));
    assert.equal(result(plane.receiveBytes(2, update(101, 1, [4, 4, 4]))).values, [4, 4, 4]);
    assert.equal(plane.receiveBytes(0, update(102, 0, [1], { exponentsOnly: false }).subarray(0, 10)).kind, 'drop', 'a header alone without the bit is short');
  });

  test('one worker: every packet completes its copy at once', () => {
    const plane = make({ ...shape, workers: 1 });
    assert.equal(result(plane.receiveBytes(0, update(100, 0, [4, 5, 6]))).values, [4, 5, 6]);
  });

  test.run();
}

const agreement = suite('native against the oracle');

// The native plane folds and encodes values with the codec's loops, chosen when the job is added:
// AVX2 where the CPU has it (auto) and the baseline ones, each against the oracle.
for (const variant of ['auto', 'baseline'] as const) agreement(`the native plane (${variant} loops) answers every packet as the TypeScript oracle does: 20,000 packets of honest, retransmitted, stale, foreign and garbage kinds`, () => {
  const shapeOf = { job: 7, workers: 5, slotBase: 30, slots: 8, sizeClass: 0 };
  const oracle = new JobDataPlane(shapeOf);
  const addon = nativeAddon()!;
  addon.switchmlSelectVariant!(variant);
  let native: JobPlane;
  try {
    native = planes.native(shapeOf);
  } finally {
    addon.switchmlSelectVariant!('auto');
  }
  const next = generator(2024);
  const sent: number[] = new Array(shapeOf.workers).fill(0); // per worker: next packet id
  for (let i = 0; i < 20_000; i++) {
    const worker = next() % shapeOf.workers;
    const r = next() % 100;
    let bytes: Uint8Array;
    if (r < 3) bytes = Uint8Array.from({ length: next() % 200 }, () => next() & 0xff); // random bytes
    else {
      // Mostly the worker's next packet, sometimes an older one (retransmission or stale duplicate).
      const back = r < 70 ? 0 : next() % 20;
      const packetId = Math.max(0, sent[worker]! - back);
      if (back === 0) sent[worker]!++;
      const slot = shapeOf.slotBase + (packetId % shapeOf.slots) + (r === 98 ? shapeOf.slots : 0);
      const copy = (Math.floor(packetId / shapeOf.slots) & 1) as 0 | 1;
      // One packet in five is exponents only (the lead of a float32 stream).
      const exponentsOnly = next() % 5 === 0;
      const values = exponentsOnly ? [] : Array.from({ length: 32 }, () => next() | 0);
      bytes = encodePacket({ type: r === 97 ? MSG_RESULT : MSG_UPDATE, sizeClass: 0, job: r === 99 ? 8 : 7, packetId, slot, copy, e0: (next() & 0xff) - 128, e1: (next() & 0xff) - 128, exponentsOnly }, values);
    }
    assert.equal(native.receiveBytes(worker, bytes), oracle.receiveBytes(worker, bytes), `packet ${i}`);
  }
  assert.equal(native.counters, oracle.counters);
  assert.ok(oracle.counters.packetsOut > 1000 && oracle.counters.retransmissions > 100 && oracle.counters.stale > 100, JSON.stringify(oracle.counters));
});

agreement.after(() => door.close());
agreement.run();
