// A worker of a switch job: joins the job on the switch's control connection, then runs
// allreduces as streams of SwitchML packets (allreduce-stream.ts decides what goes out when)
// over a SwitchLink: UDP datagrams with a TCP control connection (udp-link.ts, Node), or binary
// messages on one WebSocket that also carries the control messages (ws-link.ts, any platform
// with a WebSocket: browsers too). This file imports no Node module; the UDP link registers
// itself when udp-link.ts is imported (the Node entry does). A WebSocket does not lose packets, so the timers below never fire there
// unless the switch stalls; they stay as they are (a retransmission is harmless: the switch
// answers it from the stored result or drops it). Loss is repaired per slot: a packet without
// a result after its wait is sent again, identical, and each further resend doubles that slot's
// wait (up to 1 s). The first wait is `retransmitMs` (SwitchML's 10 ms) or, when results take
// longer (a switch and workers sharing busy cores), the measured round trip as TCP's RTO (srtt +
// 4 rttvar, from packets sent once: Karn's rule), so a slow loop is not mistaken for loss.
// A packet is resent when a packet sent after it has its result and `retransmitMs` has passed
// (the switch completes slots in the order every worker sends them, see pump); an overdue
// packet with nothing answered after it is a stall or a loss at the tail, and only the lowest
// one is resent, once no result came for a wait (RACK and its tail loss probe, RFC 8985, whose
// timer every result re-arms: on 8 workers sharing 2 cores, probes of packets that were only
// queued behind a slow peer's were most of the retransmissions), until STALLED_WAITS
// waits (at least STALLED_MIN_MS, and twice the longest round trip seen: STALLED_MAX_MS) pass without any result: then every overdue packet is. The probe's wait doubles per probe until a round-trip sample (TCP's backoff). Before this, a stall of the switch's or a peer's
// process made every worker resend its whole window at once, 4,000 to 45,000 retransmissions
// for 4,096 packets a worker at 4-8 workers (bench/switch-rate.ts), which overflowed the
// switch's socket and turned the stall into real loss.
// Results of another job, or for a packet not in flight (a duplicate, a stale unicast), are
// dropped. Nothing hangs: a call with no new result for `timeoutMs` rejects with a Timeout
// naming the switch, and the end of the job or of the control connection rejects at once.
// Congestion control (TCP's AIMD, per worker): at most `cwnd` packets are in flight, fewer
// than the window W when the switch cannot keep up. cwnd starts at W, halves when a quarter of
// the packets in flight are found lost at once (at most once per round trip; isolated losses
// are random, repaired without a cut), never below W/n (the workers' fair share of one window
// at the switch, so random loss cannot collapse it), and grows back by one per window of
// results; packets that are ready while cwnd is full wait, lowest first. It persists across calls.
// Workers' windows differ, so a worker could fill its cwnd with packets that wait for another
// worker, which waits for this one: the lowest packet whose result has not come back may
// therefore always leave. Every packet below the lowest unfinished one at the switch has been
// sent by every worker, so that packet is each worker's lowest as soon as the results before it
// arrive, and the job always progresses.
// When another worker leaves (the switch says 'ended', then closes the control connection),
// the call in flight may still finish: the switch multicast its last results before the
// leaver could have seen its own, so they are on their way. The call goes on while results
// keep arriving and fails once none came for ENDED_GRACE_MS (a loss could no longer be
// repaired); later calls reject at once. A switch that closes without 'ended' fails at once.
// Native streams: on the addon's UDP socket, every call (int32, float32 with agreed exponents,
// and float32 that agrees them in the stream, SwitchML's lead) runs whole on the socket's
// receive thread (native/src/switch-stream.h, the same stream, timers and congestion control as
// here), one promise per call; the choice is made once per worker (`stream` option,
// WEBCCL_SWITCH_NATIVE_STREAM=0 to refuse it): the TypeScript stream below stays the oracle and
// the fallback (dgram, WebSocket, an addon without it, the worker's fault hook; an addon built
// before the lead keeps float32 without agreed exponents here).
// Shaped like an aggregator: `allReduce(data, op)` resolves with the total of every worker's data.
import { invalidArgument, invalidUsage, remoteError, systemError, timeoutError, WebcclError } from '../errors.js';
import { logger } from '../log.js';
import { readChoice, readSettings } from '../settings.js';
import { traceMark, traceNative } from './call-trace.js';
import { AllReduceStream, checkStreamArrays, SlotPackets, streamPackets, type SwitchData, type SwitchOp } from './allreduce-stream.js';
import { DEFAULT_WINDOW, type Join, type Welcome } from './control-protocol.js';
import { FaultInjector, type FaultOptions } from './faults.js';
import { decodePacket, DEFAULT_SIZE_CLASS, HEADER_BYTES, MSG_RESULT, valuesOf } from './packet.js';
import type { WebSocketConstructor } from '../transport/handshake/web-socket-like.js';
import { registeredUdpLink, type NativeStreamEnd, type NativeStreamRunner, type OpenedLink, type SwitchLink } from './switch-link.js';
import { switchCodec, type SwitchCodecChoice } from './stream-codec.js';
import type { SwitchmlPacketCodec } from '../cpu/switchml-packets.js';

export { parseSwitchAddress } from './control-protocol.js';

export interface SwitchWorkerOptions {
  /**
   * Where the switch is: 'host:port' for 'udp' (TCP control and UDP data share the port), a
   * ws:// or wss:// URL of its WebSocket door for 'websocket'.
   */
  readonly switch: string;
  /** Default 'udp'. */
  readonly via?: 'udp' | 'websocket';
  /** For 'websocket' where there is no global WebSocket (Node 20: nodeWebSocket()). */
  readonly webSocket?: WebSocketConstructor;
  readonly secret: string;
  /** The job's name; every worker of the job gives the same one, and the same size, window and size class. */
  readonly world: string;
  readonly rank: number;
  readonly size: number;
  readonly window?: number;
  readonly sizeClass?: number;
  /** How long a call may go without a new result (and how long joining may take). Default WEBCCL_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  readonly retransmitMs?: number;
  /** Test hook: faults on this worker's sends and receives. */
  readonly faults?: FaultOptions;
  /** For 'udp': the addon's batched socket ('native'), Node's dgram, or 'auto' (native when built). Default 'auto'. */
  readonly udpSocket?: 'native' | 'dgram' | 'auto';
  /** Who quantizes and copies the values (stream-codec.ts): the addon's loops, TypeScript, or 'auto' (native when registered). Default 'auto'. */
  readonly codec?: SwitchCodecChoice;
  /**
   * Who runs the calls' packet loop: the addon's socket ('native', see the top), TypeScript, or
   * 'auto' (native when the link has it, no fault hook is set, `codec` is not 'typescript' and
   * WEBCCL_SWITCH_NATIVE_STREAM is not 0). Default 'auto'.
   */
  readonly stream?: 'native' | 'typescript' | 'auto';
  /**
   * Two levels: `switch` is a leaf, `rank`/`size` count the workers at that leaf, `total` is
   * the job's worker count over every leaf (the n float32 is quantized with), and `uplink` the
   * leaf's place among the root's members. Every worker of the leaf gives the same two.
   */
  readonly total?: number;
  readonly uplink?: { readonly rank: number; readonly size: number };
}

export interface WorkerCounters {
  sent: number;
  retransmitted: number;
  results: number;
  /** Results for a packet not in flight (duplicates, stale unicasts). */
  duplicates: number;
  wrongJob: number;
  malformed: number;
  /** Times congestion control halved the packets in flight. */
  windowCuts: number;
  /** Of `retransmitted`: probes of a stall (nothing answered after them), the rest were found lost. */
  probes: number;
}

const MAX_RETRANSMIT_MS = 1000;
/** Node's setImmediate (after the socket reads already queued); a browser has none, and a 0 ms timer comes after its queued messages too. */
const afterIo: (run: () => void) => void = typeof setImmediate === 'function' ? (run) => void setImmediate(run) : (run) => void setTimeout(run, 0);
/** cwnd never drops below this many packets (nor below W/n), and a cut needs this many overdue. */
const MIN_CWND = 4;
/**
 * A sweep that finds more than this fraction of the packets in flight overdue is congestion
 * (a queue the switch did not drain in time); fewer are random loss, which shrinking cwnd does
 * not cure (TCP Reno's weakness on lossy links).
 */
const CONGESTED_FRACTION = 0.25;
/** Waits without any result after which the sweep stops probing and resends every overdue packet (see retransmit). */
const STALLED_WAITS = 8;
const STALLED_MIN_MS = 200;
/**
 * ... and at least twice the longest round trip of a packet sent once (a delay, not a loss),
 * up to this: on 8 workers and the switch sharing 2 busy cores, gaps of 200 ms
 * without any result came and went, and resending every window at once after them overflowed
 * the switch's socket into real loss (thousands of retransmissions and tens of window cuts a run
 * of bench/switch-rate.ts, from one stall).
 */
const STALLED_MAX_MS = 2000;
/** The probes' backoff stops doubling here (their wait is at most MAX_RETRANSMIT_MS anyway). */
const MAX_BACKOFF = 128;
/** After the job ended, how long the call in flight may go without a result. */
const ENDED_GRACE_MS = 250;

/** The worker's counters a native stream counts too (its end carries each, for that call). */
const NATIVE_COUNTERS = ['sent', 'retransmitted', 'results', 'duplicates', 'wrongJob', 'malformed', 'windowCuts', 'probes'] as const;

/** A native stream's call in flight: the arrays stay referenced here until it settles. */
interface NativeCall {
  readonly data: SwitchData;
  readonly out: SwitchData;
  readonly exponents: Int32Array | undefined;
  resolve(out: SwitchData): void;
  reject(error: Error): void;
}

interface Active {
  readonly stream: AllReduceStream<SwitchData>;
  /** Per local slot: the packet in flight there (-1: none), its bytes, deadline and current wait. */
  readonly inFlight: Int32Array;
  readonly bytes: Array<Uint8Array | undefined>;
  readonly deadline: Float64Array;
  readonly wait: Float64Array;
  readonly sentAt: Float64Array;
  /** When the packet of each slot was first sent (sentAt moves with each retransmission). */
  readonly firstSent: Float64Array;
  readonly retried: Uint8Array;
  /** Packets ready to leave while cwnd was full, in increasing order. */
  readonly held: number[];
  /** Packets in flight. */
  flying: number;
  /** The latest send time of a packet whose result came back (RACK's xmit_ts). */
  newestAnswered: number;
  /** When the sweep last probed a stall (one packet at a time). */
  lastProbe: number;
  /** The probes' wait is the first wait times this: doubled by each probe, 1 again with a round-trip sample (TCP's RTO backoff). */
  backoff: number;
  /** The latest retransmission whose slot was answered, and when that answer came. */
  retryAnswered: number;
  retryAnsweredAt: number;
  lastProgress: number;
  resolve(out: SwitchData): void;
  reject(error: Error): void;
}

export class SwitchWorker {
  readonly counters: WorkerCounters = { sent: 0, retransmitted: 0, results: 0, duplicates: 0, wrongJob: 0, malformed: 0, windowCuts: 0, probes: 0 };
  private readonly log;
  private readonly faults: FaultInjector;
  private nextSeq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private active: Active | undefined;
  private nativeCall: NativeCall | undefined;
  /** The link's native streams, when this worker runs its calls there (chosen once, see the top). */
  private readonly native: NativeStreamRunner | undefined;
  private sweep: ReturnType<typeof setInterval> | undefined;
  private failure: WebcclError | undefined;
  /** The job ended (another worker left): why, and when. */
  private ending: { error: WebcclError; at: number } | undefined;
  private srtt = 0;
  private rttvar = 0;
  private cwnd: number;
  private ssthresh: number;
  private lastCut = -Infinity;
  /** The latest send stamp: sends get strictly increasing stamps (see stamp()). */
  private lastStamp = -Infinity;
  /** The longest round trip of a packet sent once: a delay that was not a loss (see STALLED_MAX_MS). */
  private longestDelay = 0;
  /** W/n: the job's n workers together keep about one window W in flight at the switch. */
  private readonly minCwnd: number;

  private readonly link: SwitchLink;
  readonly welcome: Welcome;
  /** The datagrams of the window's slots, reused by every call. */
  private readonly slotPackets: SlotPackets;

  private constructor(
    opened: OpenedLink,
    private readonly name: string,
    private readonly timeoutMs: number,
    private readonly retransmitMs: number,
    faults: FaultInjector,
    /** The per-value codec of every call's stream, chosen once. */
    private readonly codec: SwitchmlPacketCodec,
    streamChoice: 'native' | 'typescript' | 'auto' = 'auto',
  ) {
    const { welcome } = opened;
    this.welcome = welcome;
    this.slotPackets = new SlotPackets(welcome.window, welcome.sizeClass);
    this.log = logger('SWITCH', welcome.worker);
    this.cwnd = welcome.window;
    this.minCwnd = Math.max(MIN_CWND, Math.floor(welcome.window / welcome.workers));
    this.ssthresh = welcome.window;
    this.faults = faults;
    this.link = opened.attach({
      // One handler for the worker's life: no closure per datagram (passBytes delivers at once without faults).
      packet: (bytes) => this.faults.passBytes(bytes, this.deliverResult),
      ended: (reason) => this.end(remoteError(`${this.name}: ${reason}`)),
      closed: () => (this.ending ? this.end(this.ending.error) : this.fail(systemError(`${this.name}: the control connection closed`))),
    });
    this.native = this.chooseStream(streamChoice);
  }

  /** Whether calls run on the link's native stream (see the top); 'native' without it fails with the reason. */
  private chooseStream(choice: 'native' | 'typescript' | 'auto'): NativeStreamRunner | undefined {
    if (choice === 'typescript') return undefined;
    const env = readChoice('WEBCCL_SWITCH_NATIVE_STREAM', ['0', '1'], '1');
    const why = this.link.stream === undefined ? 'the link has none (a WebSocket, Node\'s dgram, or an addon built before native streams: node native/build.mjs)'
      : this.faults.active ? 'the worker\'s fault hook runs on the TypeScript stream'
        : choice === 'auto' && env === '0' ? 'WEBCCL_SWITCH_NATIVE_STREAM=0' : undefined;
    if (why === undefined) return this.link.stream;
    if (choice === 'native') {
      this.link.close();
      throw invalidArgument(`${this.name}: no native stream: ${why}`);
    }
    return undefined;
  }

  /** Whether calls run on the native stream (float32 without agreed exponents too where the addon has the lead, NativeStreamRunner.lead). */
  get nativeStream(): boolean {
    return this.native !== undefined;
  }

  static async connect(options: SwitchWorkerOptions): Promise<SwitchWorker> {
    const name = `switch ${options.switch}`;
    const timeoutMs = options.timeoutMs ?? readSettings().timeoutMs;
    const faults = new FaultInjector(options.faults);
    const codec = switchCodec(options.codec);
    const join: Join = {
      t: 'hello', role: 'switch', secret: options.secret, world: options.world, rank: options.rank, size: options.size,
      window: options.window ?? DEFAULT_WINDOW, sizeClass: options.sizeClass ?? DEFAULT_SIZE_CLASS,
      ...(options.total === undefined ? {} : { total: options.total }), ...(options.uplink === undefined ? {} : { uplink: options.uplink }),
    };
    const via = options.via ?? 'udp';
    let opened: OpenedLink;
    if (via === 'websocket') {
      const { openWebSocketLink } = await import('./ws-link.js');
      opened = await openWebSocketLink(options.switch, options.webSocket, join, name, timeoutMs);
    } else if (via === 'udp') {
      const openUdpLink = registeredUdpLink();
      if (openUdpLink === undefined) throw invalidArgument(`${name}: no UDP here (a browser); join through the switch's WebSocket door (via: 'websocket' and its ws:// URL)`);
      opened = await openUdpLink(options.switch, join, name, timeoutMs, options.udpSocket);
    } else throw invalidArgument(`switch worker: via must be 'udp' or 'websocket', not ${String(via)}`);
    // The TypeScript codec asked for runs on the TypeScript stream (the native one has only the addon's loops).
    const stream = options.codec === 'typescript' && options.stream !== 'native' ? 'typescript' : options.stream;
    return new SwitchWorker(opened, name, timeoutMs, options.retransmitMs ?? 10, faults, codec, stream);
  }

  /**
   * The element-wise sum (or average) of `data` over every worker of the job, in a new array;
   * with `inPlace`, written over `data` itself and resolved with it (no array per call: the
   * communicator's aggregator owns the copy it hands over), or with `into`, into that array (of
   * data's type and length, not overlapping it). Otherwise `data` is not changed.
   * `exponents`: float32 data's block exponents (one per half packet), agreed by the workers
   * before the call; every worker gives the same (allreduce-stream.ts, the top).
   */
  allReduce<T extends SwitchData>(
    data: T, op: SwitchOp = 'sum', options: { readonly inPlace?: boolean; readonly into?: T; readonly exponents?: Int32Array } = {},
  ): Promise<T> {
    if (!(data instanceof Int32Array) && !(data instanceof Float32Array)) return Promise.reject(invalidArgument('switch allreduce takes an Int32Array or a Float32Array'));
    if (op !== 'sum' && op !== 'avg') return Promise.reject(invalidArgument(`switch allreduce supports sum and avg, not ${String(op)}`));
    const into = options.inPlace === true ? data : options.into;
    const call = this.queue.then(() => this.run(data, op, into, options.exponents));
    this.queue = call.catch(() => undefined);
    return call;
  }

  close(): void {
    this.fail(invalidUsage(`${this.name}: the worker was closed`));
  }

  private run<T extends SwitchData>(data: T, op: SwitchOp, into: T | undefined, exponents: Int32Array | undefined): Promise<T> {
    if (this.ending) this.fail(this.ending.error);
    if (this.failure) return Promise.reject(this.failure);
    if (this.native !== undefined && (data instanceof Int32Array || exponents !== undefined || this.native.lead)) return this.runNative(this.native, data, op, into, exponents);
    const stream = new AllReduceStream(this.welcome, data, op, this.nextSeq, this.slotPackets, this.codec, into, exponents);
    this.nextSeq += stream.packets;
    if (stream.finished) return Promise.resolve(stream.out);
    const { window } = this.welcome;
    return new Promise<T>((resolve, reject) => {
      this.active = {
        stream, inFlight: new Int32Array(window).fill(-1), bytes: new Array(window), deadline: new Float64Array(window), wait: new Float64Array(window),
        sentAt: new Float64Array(window), firstSent: new Float64Array(window), retried: new Uint8Array(window), held: [], flying: 0, newestAnswered: -Infinity, lastProbe: -Infinity, backoff: 1, retryAnswered: -Infinity, retryAnsweredAt: 0,
        lastProgress: performance.now(), resolve: resolve as (out: SwitchData) => void, reject,
      };
      for (const q of stream.initial()) this.hold(q);
      this.pump();
      // Timers run before the loop polls sockets: checking from setImmediate reads the results
      // already queued first, so a busy loop does not turn into spurious retransmissions.
      this.sweep = setInterval(() => afterIo(() => this.retransmit()), Math.max(1, Math.floor(this.retransmitMs / 2)));
    });
  }

  /** The call on the link's native stream (see the top): one promise, counters added at its end. */
  private runNative<T extends SwitchData>(native: NativeStreamRunner, data: T, op: SwitchOp, into: T | undefined, exponents: Int32Array | undefined): Promise<T> {
    const { welcome } = this;
    checkStreamArrays(welcome.sizeClass, data, into, exponents);
    const out = into ?? (data instanceof Float32Array ? new Float32Array(data.length) : new Int32Array(data.length)) as T;
    const baseSeq = this.nextSeq;
    this.nextSeq += streamPackets(data.length, valuesOf(welcome.sizeClass), welcome.window, data instanceof Float32Array && exponents === undefined);
    if (data.length === 0) return Promise.resolve(out);
    return new Promise<T>((resolve, reject) => {
      const call: NativeCall = { data, out, exponents, resolve: resolve as (out: SwitchData) => void, reject };
      this.nativeCall = call;
      const params = {
        job: welcome.job, slotBase: welcome.slotBase, window: welcome.window, sizeClass: welcome.sizeClass, workers: welcome.workers,
        divisor: op === 'avg' ? welcome.workers : 1, baseSeq, retransmitMs: this.retransmitMs, timeoutMs: this.timeoutMs, exponentsOnly: welcome.exponentsOnly === true,
      };
      let running: Promise<NativeStreamEnd>;
      traceMark('stream');
      try {
        running = native.run(data, out, exponents ?? null, params);
        traceMark('streamReturned');
      } catch (error) {
        // The addon refused the arrays (checked here first, so a detached buffer): this call only.
        this.nativeCall = undefined;
        this.nextSeq = baseSeq; // nothing was sent: the sequence stays the other workers'
        return reject(systemError(`${this.name}: the native stream refused the call: ${(error as Error).message}`, error));
      }
      running.then((end) => this.nativeEnded(call, end), (error: unknown) => {
        // The link closed during the call: fail() has settled it already.
        if (this.nativeCall === call) this.fail(systemError(`${this.name}: the native stream failed: ${(error as Error).message}`, error));
      });
    });
  }

  private nativeEnded(call: NativeCall, end: NativeStreamEnd): void {
    traceMark('resolved');
    traceNative(end.times);
    for (const name of NATIVE_COUNTERS) this.counters[name] += end[name];
    if (this.nativeCall !== call) return;
    if (end.end === 'done') return this.settle(undefined);
    if (end.end === 'ended') return this.fail(this.ending!.error);
    this.fail(this.noResult(end.outstanding));
  }

  /** The Timeout of a call that went `timeoutMs` without a result (either stream). */
  private noResult(outstanding: number): WebcclError {
    return timeoutError(`${this.name} sent no result for ${this.timeoutMs} ms (job ${this.welcome.job}, worker ${this.welcome.worker}, ${outstanding} packets outstanding)`);
  }

  /** Packet q is ready to leave: it joins the others, in increasing order (see pump). */
  private hold(q: number): void {
    const { held } = this.active!;
    // Results mostly free packets in increasing order: the new one goes last.
    if (held.length === 0 || held[held.length - 1]! < q) {
      held.push(q);
      return;
    }
    let at = held.length;
    while (at > 0 && held[at - 1]! > q) at--;
    held.splice(at, 0, q);
  }

  /**
   * Sends ready packets, lowest first, while cwnd allows, and the lowest unfinished packet
   * always. Every worker sends in increasing order, so the switch completes slots in packet
   * order and a result means every packet sent before it has been answered too, unless lost
   * (what the sweep relies on).
   */
  private pump(): void {
    const active = this.active!;
    const { held } = active;
    while (held.length > 0 && active.flying < Math.floor(this.cwnd)) this.send(held.shift()!);
    if (held.length > 0 && held[0] === active.stream.firstUndone) this.send(held.shift()!);
  }

  private send(q: number): void {
    const active = this.active!;
    active.flying++;
    const slot = active.stream.localSlot(q);
    const bytes = active.stream.encode(q);
    active.inFlight[slot] = q;
    active.bytes[slot] = bytes;
    const now = this.stamp();
    active.wait[slot] = this.firstWait();
    active.deadline[slot] = now + active.wait[slot]!;
    active.sentAt[slot] = now;
    active.firstSent[slot] = now;
    active.retried[slot] = 0;
    this.counters.sent++;
    this.transmit(bytes);
  }

  private transmit(bytes: Uint8Array): void {
    if (this.faults.active) this.faults.pass(() => this.sendNow(bytes));
    else this.sendNow(bytes);
  }

  private sendNow(bytes: Uint8Array): void {
    if (this.failure === undefined) this.link.send(bytes);
  }

  private readonly deliverResult = (msg: Uint8Array): void => this.onResult(msg);

  private onResult(msg: Uint8Array): void {
    const active = this.active;
    const decoded = decodePacket(msg);
    if (!decoded.ok || decoded.packet.type !== MSG_RESULT || decoded.packet.sizeClass !== this.welcome.sizeClass) {
      this.counters.malformed++;
      return;
    }
    const packet = decoded.packet;
    if (packet.job !== this.welcome.job) {
      this.counters.wrongJob++;
      return;
    }
    const slot = packet.slot - this.welcome.slotBase;
    const q = active === undefined || slot < 0 || slot >= this.welcome.window ? -1 : active.inFlight[slot]!;
    if (active === undefined || q < 0 || active.stream.packetId(q) !== packet.packetId || active.stream.copy(q) !== packet.copy) {
      this.counters.duplicates++;
      return;
    }
    if (packet.exponentsOnly && active.stream.needsValues(q)) {
      this.counters.malformed++;
      return;
    }
    this.counters.results++;
    const now = performance.now();
    // Karn's rule, and no samples from a lead's headers alone: the timers guard full packets,
    // whose round trip includes their queue on the link (on the 1 Gb/s rack the lead's 10-byte
    // packets pulled srtt under the 8 KiB packets' and so their waits under their queueing).
    if (active.retried[slot] === 0 && active.bytes[slot]!.length !== HEADER_BYTES) {
      this.sampleRtt(now - active.sentAt[slot]!);
      active.backoff = 1;
    }
    // A retransmitted packet's result may answer the first send (delayed, not lost): taking the
    // retransmission's time would declare every packet sent in between lost (RACK's ambiguity).
    active.newestAnswered = Math.max(active.newestAnswered, active.firstSent[slot]!);
    if (active.retried[slot] === 0) this.longestDelay = Math.max(this.longestDelay, now - active.sentAt[slot]!);
    if (active.retried[slot] === 1 && active.sentAt[slot]! > active.retryAnswered) [active.retryAnswered, active.retryAnsweredAt] = [active.sentAt[slot]!, now];
    // A first send from before the latest answered retransmission is answered after it: the
    // packets sent before that retransmission are on their way (delayed, not lost), so its
    // answer no longer declares them lost (retransmit's retryLoss).
    else if (active.retried[slot] === 0 && active.firstSent[slot]! < active.retryAnswered) active.retryAnswered = -Infinity;
    active.inFlight[slot] = -1;
    active.bytes[slot] = undefined;
    active.flying--;
    active.lastProgress = now;
    if (active.retried[slot] === 0) this.cwnd = Math.min(this.welcome.window, this.cwnd + (this.cwnd < this.ssthresh ? 1 : 1 / this.cwnd));
    for (const next of active.stream.accept(q, packet)) this.hold(next);
    this.pump();
    if (active.stream.finished) this.settle(undefined);
  }

  /** A timeout: halve cwnd, at most once per round trip (one loss event loses many packets). */
  private congested(now: number): void {
    if (now - this.lastCut < Math.max(this.retransmitMs, this.srtt)) return;
    this.lastCut = now;
    this.ssthresh = Math.max(this.minCwnd, this.cwnd / 2);
    this.cwnd = this.ssthresh;
    this.counters.windowCuts++;
  }

  private sampleRtt(sample: number): void {
    if (this.srtt === 0) [this.srtt, this.rttvar] = [sample, sample / 2];
    else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - sample);
      this.srtt = 0.875 * this.srtt + 0.125 * sample;
    }
  }

  private retransmit(): void {
    const active = this.active;
    if (active === undefined) return;
    const now = performance.now();
    if (this.ending && now - Math.max(active.lastProgress, this.ending.at) > ENDED_GRACE_MS) return this.fail(this.ending.error);
    if (now - active.lastProgress > this.timeoutMs) {
      return this.fail(this.noResult(Array.from(active.inFlight).filter((q) => q >= 0).length));
    }
    // An overdue packet sent before one whose result is back is lost (its update, another
    // worker's, or its result): the switch answers in the order it receives, so that result
    // would have come first. An overdue packet with nothing answered after it is a stall (the
    // switch or a peer waiting for a core, the queue at the switch) or a loss at the tail: one
    // probe per round-trip timeout tells which (RACK and its tail loss probe, RFC 8985). A
    // stall of every worker no longer sends every window again at once.
    // Whether an answered retransmission answered the first send or itself is unknown: when a
    // round-trip timeout after its answer the packets sent before it are still unanswered, the
    // answer was the retransmission's and they are lost too (a loss at the tail).
    let lost = 0;
    let probe = -1;
    const { inFlight, deadline, sentAt, firstSent } = active;
    const firstWait = this.firstWait();
    // Probes back off as TCP's RTO does until a packet sent once is answered: a stall of the
    // switch or a peer (or of this process) is not probed every 10 ms, and an answer to a probe
    // that came late is not taken, a wait of 10 ms later, as proof that the window before it was lost.
    const patience = Math.min(MAX_RETRANSMIT_MS, firstWait * active.backoff);
    // No result at all for STALLED_WAITS waits (and STALLED_MIN_MS): every overdue packet is
    // resent, as before RACK, so that probing one packet at a time is never much slower than
    // resending them all. 8 workers on 2 busy cores go 40 ms without a result often enough that
    // 4 waits of 10 ms made two thirds of the retransmissions (bench/switch-rate.ts, class 7).
    const stalled = Math.max(STALLED_MIN_MS, STALLED_WAITS * firstWait, Math.min(STALLED_MAX_MS, 2 * this.longestDelay));
    const retryLoss = now - active.lastProgress >= stalled ? Infinity
      : now - active.retryAnsweredAt >= patience ? active.retryAnswered : -Infinity;
    // A packet found lost is resent after `retransmitMs` (RACK's reordering window), not after
    // the round-trip timeout: round trips include waits for other workers' repairs, and at 5%
    // loss per hop (two levels) they grew to seconds, which held every repair back as long.
    // Once resent, a packet waits out its doubled wait before it is resent again.
    for (let slot = 0; slot < inFlight.length; slot++) {
      if (inFlight[slot]! < 0) continue;
      const overdue = deadline[slot]! <= now;
      const found = firstSent[slot]! < active.newestAnswered || sentAt[slot]! < retryLoss;
      if (found && (overdue || (active.retried[slot] === 0 && now - firstSent[slot]! >= this.retransmitMs))) {
        lost++;
        this.resend(slot, now);
      } else if (overdue && (probe < 0 || inFlight[slot]! < inFlight[probe]!)) probe = slot;
    }
    // The probe's timer restarts with every result (RFC 8985's PTO is re-armed by each ACK): while
    // results arrive, the overdue packets are queued behind them (a slow peer, the switch's
    // queue), not lost, and a loss among them is found by the rule above.
    if (probe >= 0 && now - Math.max(active.lastProbe, active.lastProgress) >= patience) {
      active.lastProbe = now;
      active.backoff = Math.min(MAX_BACKOFF, 2 * active.backoff);
      this.counters.probes++;
      this.resend(probe, now);
    }
    if (lost >= Math.max(MIN_CWND, CONGESTED_FRACTION * active.flying)) this.congested(now);
  }

  /** Sends the packet of `slot` again, identical, and doubles its wait. */
  private resend(slot: number, now: number): void {
    const active = this.active!;
    active.wait[slot] = Math.min(MAX_RETRANSMIT_MS, 2 * active.wait[slot]!);
    active.deadline[slot] = now + active.wait[slot]!;
    active.sentAt[slot] = now;
    active.retried[slot] = 1;
    this.counters.retransmitted++;
    this.transmit(active.bytes[slot]!);
  }

  /**
   * The clock for a first send, strictly increasing: packets sent in one loop would otherwise
   * share a time, and RACK (retransmit) could not tell that a packet was sent before one whose
   * result is back. Order by time is order by packet within one worker (pump sends lowest first).
   */
  private stamp(): number {
    this.lastStamp = Math.max(performance.now(), this.lastStamp + 1e-6);
    return this.lastStamp;
  }

  /** The first wait for a result: SwitchML's floor, or the measured round trip (TCP's RTO). */
  private firstWait(): number {
    return Math.min(MAX_RETRANSMIT_MS, Math.max(this.retransmitMs, this.srtt + 4 * this.rttvar));
  }

  /** Ends the call in flight: with its result, or with `error`. */
  private settle(error: Error | undefined): void {
    const call = this.nativeCall;
    if (call !== undefined) {
      this.nativeCall = undefined;
      if (error) call.reject(error);
      else call.resolve(call.out);
      if (this.ending) this.fail(this.ending.error);
      return;
    }
    const active = this.active;
    if (active === undefined) return;
    this.active = undefined;
    clearInterval(this.sweep);
    if (error) active.reject(error);
    else active.resolve(active.stream.out);
    if (this.ending) this.fail(this.ending.error);
  }

  /** The job ended: the call in flight may finish with results already sent (see the top). */
  private end(error: WebcclError): void {
    const first = this.ending === undefined;
    this.ending ??= { error, at: performance.now() };
    // The native stream counts the grace from the first news (the control connection's close follows 'ended').
    if (this.nativeCall !== undefined) {
      if (first) this.native!.ended(ENDED_GRACE_MS);
    } else if (this.active === undefined) this.fail(this.ending.error);
  }

  /** The worker cannot go on: the call in flight and every later call reject with `error`. */
  private fail(error: WebcclError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.log.info(error.message);
    this.settle(error);
    this.faults.clear();
    this.link.close();
  }
}
