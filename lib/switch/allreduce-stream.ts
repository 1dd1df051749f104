// One allreduce as a stream of SwitchML packets, without sockets: which packet may go out
// when, what each carries, and what each result means. The worker (worker.ts) moves the bytes.
//
// Packets are numbered by a sequence that continues across calls, so that every slot's
// successive uses alternate copies (slot = seq mod W, copy = floor(seq / W) mod 2) and a
// packet id is never reused while a straggler may still retransmit it.
//
// int32: packet q carries chunk q; no exponents. P = chunks packets.
// float32 (SwitchML's scheme, one exponent per half packet): packet q carries the exponents
// of chunk q and the data of chunk q - L, quantized with the exponents agreed by the result
// of packet q - L. SwitchML uses L = W; we use L = min(W, chunks), which is the same for
// calls of at least W chunks and saves W - chunks exponent-only packets on small calls.
// P = chunks + L packets.
// float32 with agreed exponents (the communicator's scheme, lib/comm/switch-float.ts): the
// exponents come with the call, one per half packet, so there is no lead: packet q carries
// chunk q quantized with them, and its result is dequantized with them. P = chunks; the
// packets' exponent fields are unused (the lowest).
// Packet q may leave once its slot is free (the result of q - W is in) and, for float32, its
// exponents are agreed (the result of q - L is in): the window is clocked by results.
//
// Per element, the codec is the cost of a call (a 16 KiB packet holds 4,096 values), so:
// quantizing, dequantizing and the big-endian copies run in the addon's loops when the Node side
// registered them (stream-codec.ts picks them once per worker, and int32 packets of 64 values
// or fewer keep the TypeScript copies; lib/cpu/switchml-packets.ts's TypeScript codec, bit for
// bit the same, is the oracle and the fallback); each local slot has one
// datagram buffer for the worker's life (SlotPackets), rewritten when
// the slot's next packet is encoded (its previous packet has been answered by then, so the
// switch has it; a retransmission still queued would carry the new packet, which the switch
// takes as that packet's copy); the values start 4-byte aligned there (big-endian DataView
// writes at an unaligned offset are 2-4x slower); quantizing writes into the packet directly,
// and results are read where they lie.
import { TYPESCRIPT_SWITCHML_PACKETS, type SwitchmlPacketCodec } from '../cpu/switchml-packets.js';
import { fromWireExponent, HEADER_BYTES, MIN_WIRE_EXPONENT, MSG_UPDATE, packetBytes, toWireExponent, valuesOf, writeHeader, type Packet } from './packet.js';
import { switchCodec } from './stream-codec.js';
import { internalError } from '../errors.js';

export type SwitchData = Int32Array | Float32Array;
export type SwitchOp = 'sum' | 'avg';

export interface StreamJob {
  readonly job: number;
  readonly workers: number;
  readonly slotBase: number;
  readonly window: number;
  readonly sizeClass: number;
  /** The switch takes exponents-only packets (the welcome's flag): a packet with no values goes as its header alone. */
  readonly exponentsOnly?: boolean;
}

/** One datagram buffer per local slot, its values 4-byte aligned (see the top). */
export class SlotPackets {
  private readonly bytes: Uint8Array[] = [];
  private readonly values: DataView[] = [];

  constructor(readonly window: number, readonly sizeClass: number) {
    const length = packetBytes(sizeClass);
    // Each packet starts 2 bytes into a 4-byte-aligned stride, so its values (after the 10-byte header) are aligned.
    const stride = (length + 2 + 3) & ~3;
    const buffer = new ArrayBuffer(stride * window);
    for (let slot = 0; slot < window; slot++) {
      this.bytes.push(new Uint8Array(buffer, slot * stride + 2, length));
      this.values.push(new DataView(buffer, slot * stride + 2 + HEADER_BYTES, length - HEADER_BYTES));
    }
  }

  packet(slot: number): Uint8Array {
    return this.bytes[slot]!;
  }

  valuesOf(slot: number): DataView {
    return this.values[slot]!;
  }
}

/** The smallest int32 packet (in values) worth a call into the addon (see the constructor). */
const MIN_NATIVE_INT32_VALUES = 128;

export class AllReduceStream<T extends SwitchData> {
  readonly packets: number;
  readonly out: T;
  private readonly values: number;
  private readonly chunks: number;
  private readonly lead: number;
  private readonly float: boolean;
  /** float32 whose exponents are agreed inside the stream (SwitchML's lead), not given. */
  private readonly agreeing: boolean;
  private readonly sent: Uint8Array;
  private readonly done: Uint8Array;
  private readonly agreed: Int32Array;
  /** A chunk's local exponents (two halves). */
  private readonly local = new Int32Array(2);
  /** Of a result: 1 for sum, the worker count for avg. */
  private readonly divisor: number;
  private readonly packetsOut: SlotPackets;
  private readonly codec: SwitchmlPacketCodec;
  /** The packets accept() found ready (reused: at most two). */
  private readonly readyOut: number[] = [];
  private completed = 0;
  private undone = 0;

  /**
   * `slotPackets` (the worker's, for the job's window and size class) is reused across calls; one
   * is made when absent. `codec` does the per-value work (default: switchCodec('auto')).
   * `into`: where the results go: `data` itself (in place), another array of its type and
   * length that does not overlap it, or (absent) a new one. `agreed`: float32 data's exponents,
   * agreed before the call (one per half packet; see the top).
   */
  constructor(
    private readonly job: StreamJob, private readonly data: T, op: SwitchOp, readonly baseSeq: number, slotPackets?: SlotPackets,
    codec: SwitchmlPacketCodec = switchCodec(), into?: T, agreed?: Int32Array,
  ) {
    this.packetsOut = slotPackets ?? new SlotPackets(job.window, job.sizeClass);
    this.values = valuesOf(job.sizeClass);
    this.float = data instanceof Float32Array;
    // int32 packets of 64 values or fewer are only byte swaps, which V8's DataView does in less
    // time than one call into the addon takes (bench/switch-codec.ts: 0.6x native at 64 values,
    // 1.2-1.9x at 256): they keep the TypeScript copies.
    this.codec = !this.float && this.values < MIN_NATIVE_INT32_VALUES ? TYPESCRIPT_SWITCHML_PACKETS : codec;
    this.chunks = Math.ceil(data.length / this.values);
    this.agreeing = this.float && agreed === undefined;
    checkStreamArrays(job.sizeClass, data, into, agreed);
    this.lead = this.agreeing ? Math.min(job.window, this.chunks) : 0;
    this.packets = this.chunks + this.lead;
    this.sent = new Uint8Array(this.packets);
    this.done = new Uint8Array(this.packets);
    this.agreed = agreed ?? new Int32Array(this.agreeing ? 2 * this.chunks : 0);
    this.divisor = op === 'avg' ? job.workers : 1;
    // In place, chunk c's result lands where its data was: every read of chunk c (its exponents
    // at encode(c), its values at encode(c + L)) comes before the result that writes it
    // (accept(c + L)), and a retransmission resends the encoded datagram, not the data.
    this.out = into ?? (this.float ? new Float32Array(data.length) : new Int32Array(data.length)) as T;
  }

  /** The lowest packet whose result has not come back yet (packets when all have). */
  get firstUndone(): number {
    while (this.undone < this.packets && this.done[this.undone] === 1) this.undone++;
    return this.undone;
  }

  get finished(): boolean {
    return this.completed === this.packets;
  }

  /** The packets that may leave at the start. */
  initial(): number[] {
    const ready: number[] = [];
    for (let q = 0; q < Math.min(this.job.window, this.packets); q++) if (this.ready(q)) ready.push(q);
    return ready;
  }

  localSlot(q: number): number {
    return (this.baseSeq + q) % this.job.window;
  }

  packetId(q: number): number {
    return (this.baseSeq + q) >>> 0;
  }

  copy(q: number): 0 | 1 {
    return (Math.floor((this.baseSeq + q) / this.job.window) % 2) as 0 | 1;
  }

  /**
   * The UPDATE datagram of packet q (marks it sent): the slot's buffer (see SlotPackets), valid
   * until the slot's next packet is encoded.
   */
  encode(q: number): Uint8Array {
    this.sent[q] = 1;
    const { job } = this;
    const slot = this.localSlot(q);
    const bytes = this.packetsOut.packet(slot);
    const view = this.packetsOut.valuesOf(slot);
    let e0 = MIN_WIRE_EXPONENT;
    let e1 = MIN_WIRE_EXPONENT;
    let written = 0;
    if (!this.float) {
      written = this.spanLength(q);
      this.codec.int32ToBigEndian(this.data as Int32Array, q * this.values, written, view, 0);
    } else {
      if (this.agreeing && q < this.chunks) [e0, e1] = this.localExponents(q);
      if (q >= this.lead) {
        const chunk = q - this.lead;
        written = this.spanLength(chunk);
        this.codec.quantize(this.data as Float32Array, chunk * this.values, written, this.values / 2, this.agreed, 2 * chunk, job.workers, view, 0);
      }
    }
    // Only the first L packets of a float32 stream carry no values (see the top).
    const exponentsOnly = written === 0 && job.exponentsOnly === true;
    if (!exponentsOnly) bytes.fill(0, HEADER_BYTES + 4 * written);
    writeHeader(bytes, { type: MSG_UPDATE, sizeClass: job.sizeClass, job: job.job, packetId: this.packetId(q), slot: job.slotBase + slot, copy: this.copy(q), e0, e1, exponentsOnly });
    return exponentsOnly ? bytes.subarray(0, HEADER_BYTES) : bytes;
  }

  /** Whether the result of packet q must carry values (an exponents-only one answers the first L of a float32 stream only). */
  needsValues(q: number): boolean {
    return !this.float || q >= this.lead;
  }

  /** Takes the result of packet q; returns the packets that became ready to leave (an array reused by the next call). */
  accept(q: number, packet: Packet): readonly number[] {
    this.done[q] = 1;
    this.completed++;
    if (!this.float) this.codec.int32FromBigEndian(packet.values, 0, this.spanLength(q), this.divisor, this.out as Int32Array, q * this.values);
    else {
      if (this.agreeing && q < this.chunks) {
        this.agreed[2 * q] = fromWireExponent(packet.e0);
        this.agreed[2 * q + 1] = fromWireExponent(packet.e1);
      }
      if (q >= this.lead) {
        const chunk = q - this.lead;
        this.codec.dequantize(packet.values, 0, this.spanLength(chunk), this.values / 2, this.agreed, 2 * chunk, this.job.workers, this.divisor, this.out as Float32Array, chunk * this.values);
      }
    }
    // With L = W (calls of at least W chunks) both are the same packet: offered once.
    const next = this.readyOut;
    // pop, not `length = 0`: V8 sets an array's length through a runtime call (0.1 µs a packet).
    while (next.length > 0) next.pop();
    if (this.ready(q + this.job.window)) next.push(q + this.job.window);
    if (this.lead !== 0 && this.lead !== this.job.window && this.ready(q + this.lead)) next.push(q + this.lead);
    return next;
  }

  private ready(q: number): boolean {
    const { window } = this.job;
    return q < this.packets && this.sent[q] === 0 && (q < window || this.done[q - window] === 1) && (this.lead === 0 || q < this.lead || this.done[q - this.lead] === 1);
  }

  private spanLength(chunk: number): number {
    return Math.min(this.data.length - chunk * this.values, this.values);
  }

  /** The wire exponents of a chunk's halves (a chunk of one half sends the lowest as the second). */
  private localExponents(chunk: number): [number, number] {
    const count = this.spanLength(chunk);
    const half = this.values / 2;
    this.codec.blockExponents(this.data as Float32Array, chunk * this.values, count, half, this.local, 0);
    return [toWireExponent(this.local[0]!), count > half ? toWireExponent(this.local[1]!) : MIN_WIRE_EXPONENT];
  }
}

/** A stream's agreed exponents (one per half packet, float32 only) and results array (data's type and length), or an InternalError. */
export function checkStreamArrays(sizeClass: number, data: SwitchData, into: SwitchData | undefined, agreed: Int32Array | undefined): void {
  const float = data instanceof Float32Array;
  const blocks = Math.ceil(data.length / (valuesOf(sizeClass) / 2));
  if (agreed !== undefined && (!float || agreed.length !== blocks)) {
    throw internalError(`a switch stream was given ${agreed.length} agreed exponents for ${float ? `${blocks} blocks` : 'int32 data, which has none'}`);
  }
  if (into !== undefined && (into.length !== data.length || into.constructor !== data.constructor)) {
    throw internalError(`a switch stream of ${data.length} ${data.constructor.name} values was given ${into.length} ${into.constructor.name} values for its results`);
  }
}

/** The packets one stream sends for `count` elements (see the top): P = chunks, plus L = min(W, chunks) for float32. */
export function streamPackets(count: number, valuesPerPacket: number, window: number, float: boolean): number {
  const chunks = Math.ceil(count / valuesPerPacket);
  return chunks + (float ? Math.min(window, chunks) : 0);
}
