// The switch's aggregation rules, one by one, on the data plane alone (no sockets).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JobDataPlane, type Verdict } from '../lib/switch/data-plane.js';
import { decodePacket, encodePacket, MSG_RESULT, MSG_UPDATE, valueAt, type Packet } from '../lib/switch/packet.js';

const shape = { job: 3, workers: 3, slotBase: 100, slots: 4, sizeClass: 0 };

function update(slot: number, copy: 0 | 1, values: number[], extra: Partial<{ e0: number; e1: number; job: number; packetId: number; sizeClass: number; type: 1 | 2 }> = {}): Packet {
  const decoded = decodePacket(encodePacket({ type: MSG_UPDATE, sizeClass: 0, job: 3, packetId: 40 + slot, slot, copy, e0: -100, e1: -100, ...extra }, values));
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.packet;
}

function result(verdict: Verdict): { kind: string; values: number[]; e0: number; e1: number; slot: number; copy: number; packetId: number; type: number } {
  if (verdict.kind !== 'multicast' && verdict.kind !== 'unicast') throw new Error(`expected a result, got ${JSON.stringify(verdict)}`);
  const decoded = decodePacket(verdict.bytes);
  if (!decoded.ok) throw new Error(decoded.reason);
  const p = decoded.packet;
  return { kind: verdict.kind, values: [0, 1, 2].map((i) => valueAt(p.values, i)), e0: p.e0, e1: p.e1, slot: p.slot, copy: p.copy, packetId: p.packetId, type: p.type };
}

test('the last arrival completes the copy: multicast of the sums, max exponents, same slot, copy and packet id', () => {
  const plane = new JobDataPlane(shape);
  assert.is(plane.receive(0, update(101, 0, [1, 2, 3], { e0: 5, e1: -7 })).kind, 'absorbed');
  assert.is(plane.receive(2, update(101, 0, [10, 20, 30], { e0: 9, e1: -9 })).kind, 'absorbed');
  const r = result(plane.receive(1, update(101, 0, [100, 200, 300], { e0: -1, e1: -8 })));
  assert.equal(r, { kind: 'multicast', values: [111, 222, 333], e0: 9, e1: -7, slot: 101, copy: 0, packetId: 141, type: MSG_RESULT });
  assert.equal(plane.counters, { packetsIn: 3, packetsOut: 3, retransmissions: 0, stale: 0, droppedIncomplete: 0, wrongJob: 0, malformed: 0 });
});

test('sums wrap around in int32', () => {
  const plane = new JobDataPlane({ ...shape, workers: 2 });
  plane.receive(0, update(100, 0, [0x7fffffff, -0x80000000]));
  assert.equal(result(plane.receive(1, update(100, 0, [1, -1]))).values, [-0x80000000, 0x7fffffff, 0]);
});

test('a retransmission to an incomplete copy only reads: dropped, sums unchanged', () => {
  const plane = new JobDataPlane(shape);
  plane.receive(0, update(100, 0, [1, 1, 1]));
  const again = plane.receive(0, update(100, 0, [1, 1, 1]));
  assert.equal(again, { kind: 'drop', reason: 'retransmission to an incomplete slot' });
  plane.receive(1, update(100, 0, [2, 2, 2]));
  assert.equal(result(plane.receive(2, update(100, 0, [4, 4, 4]))).values, [7, 7, 7]);
  assert.is(plane.counters.retransmissions, 1);
  assert.is(plane.counters.droppedIncomplete, 1);
});

test('a retransmission to a completed copy gets the stored result by unicast, without adding', () => {
  const plane = new JobDataPlane(shape);
  for (const w of [0, 1, 2]) plane.receive(w, update(102, 1, [w + 1, 0, 0]));
  const r = result(plane.receive(1, update(102, 1, [2, 0, 0])));
  assert.equal([r.kind, r.values, r.copy], ['unicast', [6, 0, 0], 1]);
  assert.is(plane.counters.packetsOut, 4);
});

test('the next round on the other copy clears the worker\'s bit in this one; an empty bitmap overwrites', () => {
  const plane = new JobDataPlane({ ...shape, workers: 2 });
  plane.receive(0, update(100, 0, [5, 5, 5]));
  plane.receive(1, update(100, 0, [5, 5, 5])); // copy 0 complete: 10
  plane.receive(0, update(100, 1, [1, 1, 1]));
  // Worker 1 has not moved on: its retransmission to copy 0 still reads the completed result.
  assert.equal(result(plane.receive(1, update(100, 0, [5, 5, 5]))).values, [10, 10, 10]);
  assert.equal(result(plane.receive(1, update(100, 1, [2, 2, 2]))).values, [3, 3, 3]);
  // Both workers have now cleared their bits in copy 0: the next round there overwrites the old sums.
  plane.receive(1, update(100, 0, [7, 7, 7], { e0: -120 }));
  const r = result(plane.receive(0, update(100, 0, [1, 0, 0], { e0: -125 })));
  assert.equal([r.values, r.e0], [[8, 7, 7], -120]);
});

test('rule 0: a delayed duplicate of an older packet in the slot is dropped, not allowed to clear a bit', () => {
  const plane = new JobDataPlane({ ...shape, workers: 2 });
  const at = (copy: 0 | 1, packetId: number, values: number[]) => update(100, copy, values, { packetId });
  plane.receive(0, at(0, 10, [1, 1, 1]));
  plane.receive(1, at(0, 10, [1, 1, 1])); // packet 10 complete
  plane.receive(0, at(1, 14, [5, 5, 5])); // worker 0 moves on to packet 14 (W = 4)
  // A stale duplicate of packet 10 from worker 0 arrives late: without rule 0 it would clear
  // worker 0's bit in copy 1, and its retransmission of 14 would then be added twice.
  assert.equal(plane.receive(0, at(0, 10, [1, 1, 1])), { kind: 'drop', reason: 'packet 10 is older than 14 in this slot' });
  assert.is(plane.receive(0, at(1, 14, [5, 5, 5])).kind, 'drop'); // a true retransmission, copy incomplete
  assert.equal(result(plane.receive(1, at(1, 14, [6, 6, 6]))).values, [11, 11, 11]);
  assert.is(plane.counters.stale, 1);
  // Packet ids wrap: 2^32 - 1 is older than 3.
  const wrap = new JobDataPlane({ ...shape, workers: 2 });
  wrap.receive(0, update(100, 0, [1], { packetId: 3 }));
  assert.is(wrap.receive(0, update(100, 1, [1], { packetId: 0xffffffff })).kind, 'drop');
});

test('slots are the job\'s only: out of range, wrong size class, a result, or another job number are dropped and counted', () => {
  const plane = new JobDataPlane(shape);
  const verdicts = [
    plane.receive(0, update(99, 0, [1])),
    plane.receive(0, update(104, 0, [1])),
    plane.receive(0, update(100, 0, [1], { job: 4 })),
    plane.receive(0, update(100, 0, [1], { type: MSG_RESULT })),
    plane.malformed('short datagram'),
  ];
  assert.ok(verdicts.every((v) => v.kind === 'drop'));
  assert.match((verdicts[0] as { reason: string }).reason, /slot 99 outside the job's \[100, 104\)/);
  assert.is(plane.counters.wrongJob, 1);
  assert.is(plane.counters.malformed, 4);
  // None of them touched slot 100: three honest packets still sum exactly.
  for (const w of [0, 1]) plane.receive(w, update(100, 0, [1, 2, 3]));
  assert.equal(result(plane.receive(2, update(100, 0, [1, 2, 3]))).values, [3, 6, 9]);
});

test('a wrong size class from a job member is malformed', () => {
  const plane = new JobDataPlane(shape);
  const decoded = decodePacket(encodePacket({ type: MSG_UPDATE, sizeClass: 1, job: 3, packetId: 0, slot: 100, copy: 0, e0: 0, e1: 0 }));
  assert.ok(decoded.ok);
  if (decoded.ok) assert.match((plane.receive(0, decoded.packet) as { reason: string }).reason, /size class 1, job uses 0/);
});

test('job shapes that do not fit are refused', () => {
  assert.throws(() => new JobDataPlane({ ...shape, workers: 33 }), /1 to 32 workers/);
  assert.throws(() => new JobDataPlane({ ...shape, slotBase: 0x7fff, slots: 2 }), /15-bit pool index/);
  assert.throws(() => new JobDataPlane({ ...shape, job: 256 }), /job number/);
});

test('one worker: every packet completes its copy at once', () => {
  const plane = new JobDataPlane({ ...shape, workers: 1 });
  assert.equal(result(plane.receive(0, update(100, 0, [4, 5, 6]))).values, [4, 5, 6]);
});

test.run();
