// The switch's per-job data plane: SwitchML's aggregation rules over a pool of slots, with no
// sockets (the server feeds it decoded packets and sends what it answers). Each slot has two
// copies; each copy holds a worker bitmap, a counter, the int32 sums and the max exponents.
// For a packet of worker w on (slot, copy), with b = 1 << w:
//   1. clear b in the other copy (the worker has moved on from the packet that used it);
//   2. b already set in this copy: a retransmission. It only reads: if the copy is complete
//      (counter = workers), the stored result goes back to w alone (unicast); else it is dropped;
//   3. otherwise set b; an empty bitmap (before b) means a new round: values and exponents
//      overwrite and the counter becomes 1; else values add (int32 wrap-around), exponents
//      take the max and the counter grows by one;
//   4. the packet that makes counter = workers completes the copy: the result goes to every
//      worker of the job (multicast).
// A copy's counter is not lowered by step 1, so a completed copy keeps answering stragglers'
// retransmissions until the packet one window later reuses it (SwitchML's shadow copy).
// One rule comes before these, because a software switch sees networks that duplicate and
// reorder (SwitchML's hardware assumes they do not):
// Exponents-only packets (packet.ts: a header standing for all-zero values) follow the same
// rules; a copy remembers whether any packet with values reached it since it was overwritten
// (`valued`): values then overwrite instead of adding to the zeros, and the result carries
// values only if one did.
//   0. a packet older than the last one this worker sent to this slot (by packet id, modulo
//      2^32) is a delayed duplicate: dropped. Without it, a stale copy of packet p - W arriving
//      after packet p would clear the worker's bit in p's copy, and p's retransmission would
//      then be added twice.
import { invalidArgument } from '../errors.js';
import { decodePacket, MSG_RESULT, MSG_UPDATE, MIN_WIRE_EXPONENT, packetBytes, valuesOf, writeHeader, HEADER_BYTES, type Packet } from './packet.js';

export const MAX_WORKERS = 32;

export interface JobShape {
  /** The job number in every packet of this job (0-255). */
  readonly job: number;
  readonly workers: number;
  /** The job's slots are [slotBase, slotBase + slots) of the switch's pool. */
  readonly slotBase: number;
  readonly slots: number;
  readonly sizeClass: number;
}

export interface JobCounters {
  packetsIn: number;
  packetsOut: number;
  retransmissions: number;
  /** Delayed duplicates of packets older than the worker's latest in their slot (rule 0). */
  stale: number;
  /** Retransmissions to a copy still incomplete (step 2, dropped). */
  droppedIncomplete: number;
  wrongJob: number;
  malformed: number;
}

export type Verdict =
  | { readonly kind: 'multicast'; readonly bytes: Uint8Array }
  | { readonly kind: 'unicast'; readonly bytes: Uint8Array }
  /** Aggregated, the copy waits for other workers: nothing to send. */
  | { readonly kind: 'absorbed' }
  | { readonly kind: 'drop'; readonly reason: string };

/** One copy of every slot, as parallel arrays (slot-major sums). */
class Copies {
  readonly bitmap: Uint32Array;
  readonly counter: Uint8Array;
  readonly packetId: Uint32Array;
  readonly e0: Int8Array;
  readonly e1: Int8Array;
  readonly sums: Int32Array;
  /** 1: a packet with values reached the copy (its sums are live); 0: only exponents-only ones (zeros). */
  readonly valued: Uint8Array;
  constructor(slots: number, readonly values: number) {
    this.valued = new Uint8Array(slots);
    this.bitmap = new Uint32Array(slots);
    this.counter = new Uint8Array(slots);
    this.packetId = new Uint32Array(slots);
    this.e0 = new Int8Array(slots).fill(MIN_WIRE_EXPONENT);
    this.e1 = new Int8Array(slots).fill(MIN_WIRE_EXPONENT);
    this.sums = new Int32Array(slots * values);
  }
}

const ABSORBED: Verdict = { kind: 'absorbed' };

/**
 * One running job's slots as the server drives them: this TypeScript plane, or the native one
 * (native-door.ts), whose UDP packets never reach JS; both answer `receiveBytes` for packets
 * that come another way (the WebSocket door).
 */
export interface JobPlane {
  /** A datagram's bytes from `worker` of this job: decoded, then the rules. */
  receiveBytes(worker: number, bytes: Uint8Array): Verdict;
  /** A message of the job that is not a packet at all (counted, dropped). */
  malformed(reason: string): Verdict;
  readonly counters: JobCounters;
}

export class JobDataPlane implements JobPlane {
  readonly counters: JobCounters = { packetsIn: 0, packetsOut: 0, retransmissions: 0, stale: 0, droppedIncomplete: 0, wrongJob: 0, malformed: 0 };
  private readonly copies: readonly [Copies, Copies];
  private readonly values: number;
  /** Per slot and worker: the latest packet id seen, and whether one was. */
  private readonly latest: Uint32Array;
  private readonly seen: Uint8Array;

  constructor(readonly shape: JobShape) {
    checkShape(shape);
    this.values = valuesOf(shape.sizeClass);
    this.latest = new Uint32Array(shape.slots * shape.workers);
    this.seen = new Uint8Array(shape.slots * shape.workers);
    this.copies = [new Copies(shape.slots, this.values), new Copies(shape.slots, this.values)];
  }

  /** A datagram from `worker` of this job that failed to decode (counted here, dropped). */
  malformed(reason: string): Verdict {
    this.counters.malformed++;
    return { kind: 'drop', reason };
  }

  receiveBytes(worker: number, bytes: Uint8Array): Verdict {
    const decoded = decodePacket(bytes);
    return decoded.ok ? this.receive(worker, decoded.packet) : this.malformed(decoded.reason);
  }

  /** Applies the rules above to one packet from `worker`. */
  receive(worker: number, packet: Packet): Verdict {
    this.counters.packetsIn++;
    const { shape } = this;
    if (packet.job !== shape.job) {
      this.counters.wrongJob++;
      return { kind: 'drop', reason: `job ${packet.job} from a worker of job ${shape.job}` };
    }
    if (packet.type !== MSG_UPDATE) return this.malformed('a result sent to the switch');
    if (packet.sizeClass !== shape.sizeClass) return this.malformed(`size class ${packet.sizeClass}, job uses ${shape.sizeClass}`);
    const slot = packet.slot - shape.slotBase;
    if (slot < 0 || slot >= shape.slots) return this.malformed(`slot ${packet.slot} outside the job's [${shape.slotBase}, ${shape.slotBase + shape.slots})`);

    const latest = slot * shape.workers + worker;
    if (this.seen[latest] === 1 && ((packet.packetId - this.latest[latest]!) | 0) < 0) {
      this.counters.stale++;
      return { kind: 'drop', reason: `packet ${packet.packetId} is older than ${this.latest[latest]} in this slot` };
    }
    this.seen[latest] = 1;
    this.latest[latest] = packet.packetId;

    const bit = (1 << worker) >>> 0;
    const own = this.copies[packet.copy];
    const other = this.copies[1 - packet.copy]!;
    other.bitmap[slot] = (other.bitmap[slot]! & ~bit) >>> 0;

    if ((own.bitmap[slot]! & bit) !== 0) {
      this.counters.retransmissions++;
      if (own.counter[slot] === shape.workers) return this.send('unicast', own, slot, packet.copy);
      this.counters.droppedIncomplete++;
      return { kind: 'drop', reason: 'retransmission to an incomplete slot' };
    }

    const first = own.bitmap[slot] === 0;
    own.bitmap[slot] = (own.bitmap[slot]! | bit) >>> 0;
    if (first) this.overwrite(own, slot, packet);
    else this.accumulate(own, slot, packet);
    if (own.counter[slot] === shape.workers) return this.send('multicast', own, slot, packet.copy);
    return ABSORBED;
  }

  private overwrite(copy: Copies, slot: number, packet: Packet): void {
    copy.counter[slot] = 1;
    copy.packetId[slot] = packet.packetId;
    copy.e0[slot] = packet.e0;
    copy.e1[slot] = packet.e1;
    this.take(copy, slot, packet);
  }

  /** The sums become the packet's values (or stay zeros to be, for an exponents-only packet). */
  private take(copy: Copies, slot: number, packet: Packet): void {
    copy.valued[slot] = packet.exponentsOnly ? 0 : 1;
    if (packet.exponentsOnly) return;
    const { sums } = copy;
    const base = slot * this.values;
    for (let i = 0; i < this.values; i++) sums[base + i] = packet.values.getInt32(4 * i);
  }

  private accumulate(copy: Copies, slot: number, packet: Packet): void {
    copy.counter[slot]!++;
    copy.e0[slot] = Math.max(copy.e0[slot]!, packet.e0);
    copy.e1[slot] = Math.max(copy.e1[slot]!, packet.e1);
    if (packet.exponentsOnly) return;
    if (copy.valued[slot] === 0) return this.take(copy, slot, packet);
    const { sums } = copy;
    const base = slot * this.values;
    for (let i = 0; i < this.values; i++) sums[base + i] = (sums[base + i]! + packet.values.getInt32(4 * i)) | 0;
  }

  /** The stored result of (slot, copy) as a RESULT datagram. */
  private send(kind: 'multicast' | 'unicast', copy: Copies, slot: number, which: 0 | 1): Verdict {
    const exponentsOnly = copy.valued[slot] === 0;
    const bytes = new Uint8Array(exponentsOnly ? HEADER_BYTES : packetBytes(this.shape.sizeClass));
    writeHeader(bytes, {
      type: MSG_RESULT, sizeClass: this.shape.sizeClass, job: this.shape.job, packetId: copy.packetId[slot]!,
      slot: this.shape.slotBase + slot, copy: which, e0: copy.e0[slot]!, e1: copy.e1[slot]!, exponentsOnly,
    });
    this.counters.packetsOut += kind === 'multicast' ? this.shape.workers : 1;
    if (exponentsOnly) return { kind, bytes };
    const view = new DataView(bytes.buffer, HEADER_BYTES);
    const base = slot * this.values;
    for (let i = 0; i < this.values; i++) view.setInt32(4 * i, copy.sums[base + i]!);
    return { kind, bytes };
  }
}

/** Throws InvalidArgument when `shape` does not fit the switch (both planes check with it). */
export function checkShape(shape: JobShape): void {
  const { job, workers, slotBase, slots, sizeClass } = shape;
  if (!Number.isInteger(job) || job < 0 || job > 255) throw invalidArgument(`switch job number ${job} is not in [0, 255]`);
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw invalidArgument(`a switch job has 1 to ${MAX_WORKERS} workers (the bitmap width), not ${workers}`);
  if (!Number.isInteger(slots) || slots < 1 || !Number.isInteger(slotBase) || slotBase < 0 || slotBase + slots > 0x8000) {
    throw invalidArgument(`switch slots [${slotBase}, ${slotBase + slots}) do not fit the 15-bit pool index`);
  }
  if (!Number.isInteger(sizeClass) || sizeClass < 0 || sizeClass > 7) throw invalidArgument(`switch size class ${sizeClass} is not in [0, 7]`);
}
