// A leaf switch's half of a two-level job (SHARP's aggregation tree on SwitchML's rules): the
// leaf aggregates its own workers with the unchanged data plane (data-plane.ts), and this file
// decides what becomes of the plane's verdicts.
//   - A copy that completes at the leaf (the plane's multicast) is not a result yet: its int32
//     sums and max exponents go up to the root as the leaf's own UPDATE, same packet id and
//     copy, on the root job's slot of the same index. The copy now waits for the root.
//   - The root's RESULT for that (slot, copy, packet id) is the result: it is stored and
//     multicast to the leaf's workers (job number and slot rewritten to the leaf's).
//   - A worker's retransmission to a completed copy (the plane's unicast) gets the stored root
//     result; while the copy still waits for the root it is dropped, as at an incomplete copy
//     (the worker's own timer retries, and the leaf's upward timer repairs the loss above).
//   - The leaf retransmits each waiting upward packet on its own timer (identical bytes, the
//     wait doubling up to 1 s, its floor following the measured round trip to the root), and
//     fails the job when the root sends no result for `timeoutMs`.
// An exponents-only copy (packet.ts) goes up as it is to a root that takes them (its welcome
// says so), else as a full packet of zeros, which the root treats the same.
// Exponents need no rule of their own: each packet carries its workers' local exponents of a
// later chunk, the leaf's max goes up, the root takes the max over leaves, and the root's
// result brings the job-wide max back down to every worker: the same agreement, one window
// ahead, as with one switch. Workers quantize with the job's total worker count n (their
// welcome's `workers`), so any partial sum at a leaf, and the root's sum, stay within int32,
// and the int32 sums are the single switch's, bit for bit.
import type { Verdict } from './data-plane.js';
import type { FaultInjector } from './faults.js';
import { decodePacket, MSG_RESULT, MSG_UPDATE, packetBytes, writeHeader, type PacketHeader } from './packet.js';
import type { Welcome } from './control-protocol.js';
import type { OpenedLink, SwitchLink } from './switch-link.js';

const MAX_WAIT_MS = 1000;

export interface UplinkCounters {
  /** UPDATEs sent up (first sends). */
  up: number;
  upRetransmissions: number;
  /** Root results taken (and multicast down). */
  rootResults: number;
  /** Root results for nothing waiting (duplicates, answers to retransmissions already served). */
  rootDuplicates: number;
  /** Workers' retransmissions dropped because their copy still waits for the root. */
  waitingForRoot: number;
}

export interface UplinkHost {
  /** The leaf's job (number and slots, as its workers see them). */
  readonly job: { readonly number: number; readonly slotBase: number; readonly window: number };
  /** Sends a result to every worker of the leaf's job. */
  multicast(bytes: Uint8Array): void;
  /** The root ended the job, went away or went silent: the leaf ends its job with `reason`. */
  fail(reason: string): void;
  /** The leaf's fault injection (its `--drop/--dup/--reorder`), applied on the upward path too. */
  readonly faults: FaultInjector;
}

export interface UplinkOptions {
  /** The first wait before an upward packet is sent again (ms). */
  readonly retransmitMs: number;
  /** How long the root may send no result while packets wait (ms). */
  readonly timeoutMs: number;
}

const ABSORBED: Verdict = { kind: 'absorbed' };

export class LeafUplink {
  readonly counters: UplinkCounters = { up: 0, upRetransmissions: 0, rootResults: 0, rootDuplicates: 0, waitingForRoot: 0 };
  private readonly root: Welcome;
  private readonly link: SwitchLink;
  /** Per (slot, copy) key 2 slot + copy: the upward packet waiting for the root, and its timer. */
  private readonly up: Array<Uint8Array | undefined>;
  private readonly upId: Uint32Array;
  private readonly deadline: Float64Array;
  private readonly wait: Float64Array;
  private readonly sentAt: Float64Array;
  private readonly retried: Uint8Array;
  /** Per key: the root's result as the leaf's workers receive it, and its packet id. */
  private readonly results: Array<Uint8Array | undefined>;
  private readonly resultId: Uint32Array;
  private waiting = 0;
  private lastResult = performance.now();
  private srtt = 0;
  private readonly sweep: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(opened: OpenedLink, private readonly rootName: string, private readonly host: UplinkHost, private readonly options: UplinkOptions) {
    this.root = opened.welcome;
    const keys = 2 * host.job.window;
    this.up = new Array(keys);
    this.upId = new Uint32Array(keys);
    this.deadline = new Float64Array(keys);
    this.wait = new Float64Array(keys);
    this.sentAt = new Float64Array(keys);
    this.retried = new Uint8Array(keys);
    this.results = new Array(keys);
    this.resultId = new Uint32Array(keys);
    this.link = opened.attach({
      packet: (bytes) => host.faults.passBytes(bytes, (held) => this.onRootPacket(held)),
      ended: (reason) => this.fail(`${rootName} ended the job: ${reason}`),
      closed: () => this.fail(`${rootName}: the control connection closed`),
    });
    this.sweep = setInterval(() => this.retransmit(), Math.max(1, Math.floor(options.retransmitMs / 2)));
  }

  /** What the leaf does with its data plane's verdict on a worker's packet. */
  route(verdict: Verdict): Verdict {
    if (verdict.kind === 'multicast') {
      this.forward(verdict.bytes);
      return ABSORBED;
    }
    if (verdict.kind !== 'unicast') return verdict;
    const header = this.header(verdict.bytes);
    const key = this.key(header.slot - this.host.job.slotBase, header.copy);
    const stored = this.results[key];
    if (stored !== undefined && this.resultId[key] === header.packetId) return { kind: 'unicast', bytes: stored };
    this.counters.waitingForRoot++;
    return { kind: 'drop', reason: 'retransmission to a copy waiting for the root' };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweep);
    this.link.close();
  }

  private header(bytes: Uint8Array): PacketHeader {
    const decoded = decodePacket(bytes);
    if (!decoded.ok) throw new Error(`the leaf's own data plane produced a malformed packet: ${decoded.reason}`);
    return decoded.packet;
  }

  private key(slot: number, copy: 0 | 1): number {
    return 2 * slot + copy;
  }

  /** A copy completed at the leaf: its sums go up as the leaf's UPDATE on the root's slot. */
  private forward(bytes: Uint8Array): void {
    const header = this.header(bytes);
    const slot = header.slot - this.host.job.slotBase;
    const key = this.key(slot, header.copy);
    const expand = header.exponentsOnly === true && this.root.exponentsOnly !== true;
    const packet = expand ? new Uint8Array(packetBytes(this.root.sizeClass)) : bytes.slice();
    writeHeader(packet, { ...header, type: MSG_UPDATE, job: this.root.job, slot: this.root.slotBase + slot, exponentsOnly: header.exponentsOnly === true && !expand });
    if (this.up[key] === undefined) this.waiting++;
    this.up[key] = packet;
    this.upId[key] = header.packetId;
    this.results[key] = undefined;
    const now = performance.now();
    this.wait[key] = Math.max(this.options.retransmitMs, 2 * this.srtt);
    this.deadline[key] = now + this.wait[key]!;
    this.sentAt[key] = now;
    this.retried[key] = 0;
    this.counters.up++;
    this.send(packet);
  }

  private send(packet: Uint8Array): void {
    this.host.faults.pass(() => { if (!this.closed) this.link.send(packet); });
  }

  private onRootPacket(bytes: Uint8Array): void {
    const decoded = decodePacket(bytes);
    if (this.closed || !decoded.ok) return;
    const packet = decoded.packet;
    const slot = packet.slot - this.root.slotBase;
    if (packet.type !== MSG_RESULT || packet.job !== this.root.job || packet.sizeClass !== this.root.sizeClass || slot < 0 || slot >= this.root.window) return;
    const key = this.key(slot, packet.copy);
    if (this.up[key] === undefined || this.upId[key] !== packet.packetId) {
      this.counters.rootDuplicates++;
      return;
    }
    const now = performance.now();
    if (this.retried[key] === 0) this.srtt = this.srtt === 0 ? now - this.sentAt[key]! : 0.875 * this.srtt + 0.125 * (now - this.sentAt[key]!);
    this.up[key] = undefined;
    this.waiting--;
    this.lastResult = now;
    this.counters.rootResults++;
    const result = bytes.slice();
    writeHeader(result, { ...packet, job: this.host.job.number, slot: this.host.job.slotBase + slot });
    this.results[key] = result;
    this.resultId[key] = packet.packetId;
    this.host.multicast(result);
  }

  private retransmit(): void {
    if (this.closed) return;
    const now = performance.now();
    if (this.waiting === 0) {
      this.lastResult = now;
      return;
    }
    if (now - this.lastResult > this.options.timeoutMs) {
      return this.fail(`${this.rootName} sent no result for ${this.options.timeoutMs} ms (${this.waiting} packets waiting)`);
    }
    for (let key = 0; key < this.up.length; key++) {
      const packet = this.up[key];
      if (packet === undefined || this.deadline[key]! > now) continue;
      this.wait[key] = Math.min(MAX_WAIT_MS, 2 * this.wait[key]!);
      this.deadline[key] = now + this.wait[key]!;
      this.retried[key] = 1;
      this.counters.upRetransmissions++;
      this.send(packet);
    }
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.close();
    this.host.fail(reason);
  }
}
