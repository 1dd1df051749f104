// The shape of the native addon's exports (native/src/addon.cc), as the loader hands it out.
// Node-only: the browser entry never imports lib/native.
import type { DataType, SimpleOp } from '../dtype.js';

export interface NativeAddon extends NativeShmAddon, NativeTcpAddon, NativeSwitchAddon, NativeSwitchWorkerAddon, NativeSwitchmlCodecAddon, NativeBoardAddon, NativeAffinityAddon {
  /** Which build of the reduction loops this CPU runs, chosen at load: "avx512bf16+f16c", "avx512+f16c", "avx512", "avx2+f16c", "avx2" or "baseline". */
  readonly reduceVariant: string;
  /** Every build this CPU can run, fastest first (absent from older builds). */
  readonly reduceVariants?: readonly string[];
  /** Test hook: later reductions run `variant` ("auto": reduceVariant again); returns its name; throws for one this CPU cannot run. */
  readonly reduceSelectVariant?: (variant: string) => string;
  /** dst[i] = dst[i] ⊕ src[i] over equal-length byte views; avg accumulates as sum. Throws on bad input. */
  reduceAccumulate(dtype: DataType, op: SimpleOp, dst: ArrayBufferView, src: ArrayBufferView): void;
  /** dst[i] = src[i] / divisor (floats multiply by f32(1/divisor), integers truncate). */
  finishAverage(dtype: DataType, dst: ArrayBufferView, src: ArrayBufferView, divisor: number): void;
  /** A plain memmove of equal-length views: the bandwidth reference for benchmarks. */
  memcpy(dst: ArrayBufferView, src: ArrayBufferView): void;
  /**
   * acc[i] = fl(acc[i] + the 16-bit value src[i]) over equal counts (native/src/half-fold.cc):
   * lib/cpu/cast.ts's widenAccumulate bit for bit. Throws on bad input; absent from an addon built before it.
   */
  readonly halfWidenAccumulate?: (type: 'float16' | 'bfloat16', acc: Float32Array, src: Uint16Array) => void;
  /** dst[i] = src[i] (f32) rounded to nearest even as `type`: cast.ts's narrowBits bit for bit. Absent from older builds. */
  readonly halfNarrow?: (type: 'float16' | 'bfloat16', dst: Uint16Array, src: Float32Array | Uint32Array) => void;
  /** dst[i] = the f32 bits of the 16-bit value src[i], exactly: cast.ts's widenBits bit for bit. Absent from older builds. */
  readonly halfWiden?: (type: 'float16' | 'bfloat16', dst: Float32Array | Uint32Array, src: Uint16Array) => void;
  /**
   * The block codecs' loops (native/src/block-codecs.cc), bit for bit lib/cpu/int8.ts and
   * lib/cpu/onebit.ts; absent from older builds (int8's also on big-endian hosts). int8Quantize
   * with a residual is int8QuantizeWithFeedback; the decoders add into `out` when `accumulate`.
   * Arrays may be longer than the call's count; overlapping ones are refused. Throw on bad input.
   */
  readonly int8Quantize?: (x: Float32Array, residual: Float32Array | null, count: number, blockSize: number, packed: Uint32Array, scales: Float32Array) => void;
  readonly int8Dequantize?: (packed: Uint32Array, scales: Float32Array, count: number, blockSize: number, out: Float32Array, accumulate?: boolean) => void;
  readonly onebitCompress?: (x: Float32Array, residual: Float32Array, count: number, blockSize: number, signs: Uint32Array, scales: Float32Array) => void;
  readonly onebitDecompress?: (signs: Uint32Array, scales: Float32Array, count: number, blockSize: number, out: Float32Array, accumulate?: boolean) => void;
  /** "avx2" or "baseline": the block codec loops chosen at load. */
  readonly blockCodecVariant?: string;
  /** Test hook: run the baseline loops (or the CPU's best again, "auto"); returns their name. */
  readonly blockCodecSelectVariant?: (variant: 'baseline' | 'auto') => string;
}

/** What the loader found: the addon, or why there is none. */
export type NativeLoad = { readonly addon: NativeAddon } | { readonly unavailable: string };

/** The shm provider's native objects (native/src/shm.cc); lib/native/shm.ts wraps them. */
export interface NativeShmContext {
  registerMemory(view: ArrayBufferView): number;
  deregisterMemory(key: number): void;
  createEndpoint(label: string): NativeShmEndpoint;
  destroy(): void;
  /** shm only: where the view's first byte lies in this process, for a peer's read(). */
  addressOf?(view: ArrayBufferView): number;
}

export interface NativeShmEndpoint {
  address(): string;
  /** timeoutMs: the tcp provider's bound on forming the connection (the shm provider connects at once). */
  connect(address: string, timeoutMs?: number): void;
  /** inline (tcp provider only, at most 64 bytes): copied at the call and sent ahead of the region's bytes, in the same message. */
  postSend(wrId: number, key: number, offset: number, length: number, inline?: Uint8Array): void;
  postRecv(wrId: number, key: number, offset: number, length: number): void;
  postWrite(wrId: number, key: number, offset: number, length: number, remoteKey: number, remoteOffset: number, imm?: number): void;
  destroy(): void;
  /**
   * shm only: readsPeer is "" when read() works toward the peer (process_vm_readv), else why
   * not; peerReads is true once the peer has found that it can read this process's memory.
   */
  singleCopy?(): { readsPeer: string; peerReads: boolean };
  /** shm only: copies view.byteLength bytes from the peer's memory at remoteAddress into view (synchronous, one copy). */
  read?(view: ArrayBufferView, remoteAddress: number): void;
  /**
   * shm only: sends header ‖ payload as one message, copied into the peer's ring now, when it
   * fits and nothing is queued ahead; true: sent and complete (no completion follows), false: nothing sent.
   */
  sendNow?(header: Uint8Array, payload: Uint8Array): boolean;
  /**
   * tcp only: the next message whose first 56 bytes are `head` and whose remaining bytes number
   * `length` puts them into [offset, offset + length) of `key` (folded with dtype/op when given)
   * instead of its receive; that receive's completion then carries `id` as its imm.
   */
  postExpect?(id: number, head: Uint8Array, key: number, offset: number, length: number, dtype?: string, op?: string): void;
  /** tcp only: true when the expectation was still unmatched (nothing lands any more), false when a message took it. */
  cancelExpect?(id: number): boolean;
}

/** (wrId, error or null, opcode, bytes, immediate) */
export type NativeCompletionCallback = (wrId: number, error: string | null, opcode: string, bytes: number, imm: number | undefined) => void;

export interface NativeShmAddon {
  readonly ShmContext: new (prefix: string, onCompletion: NativeCompletionCallback) => NativeShmContext;
  /**
   * This process's doorbell syscalls so far (benchmarks): eventfd writes to peers and to its own
   * loop, futex wakes, inboxes drained just before the loop would have slept. Absent from an
   * addon built before it existed.
   */
  readonly shmCounters?: () => { peerEventfd: number; selfEventfd: number; futexWakes: number; prepareDrains: number };
}

/** The collectives the board runs (native/src/board.cc's kKindNames). */
export type BoardCollective = 'allReduce' | 'reduce' | 'reduceScatter' | 'allGather' | 'broadcast';

/** One collective on the board: what it is and, where it reduces, how. */
export interface BoardWork {
  readonly collective: BoardCollective;
  readonly dtype: DataType;
  /** The fold (absent: a collective that does not reduce). */
  readonly op?: SimpleOp;
  /** Divide the fold by the rank count (avg). */
  readonly average?: boolean;
  /** reduce, broadcast: the rank that gets (reduce) or gives (broadcast) the data. */
  readonly root?: number;
  /**
   * reduceScatter out of place: where this rank's block of the result goes (one block's bytes),
   * the call's bytes then only read; absent: block rank of the call's bytes gets it.
   */
  readonly output?: Uint8Array;
  /** allReduce out of place: this rank's elements, only read; the call's bytes then get the result (nothing copied into them first). */
  readonly input?: Uint8Array;
}

/**
 * A small host-memory allreduce as the board runs it on a communicator's short path
 * (lib/transport/board.ts's BoardSession.runNow): fixed when the call is planned, reused while the call repeats.
 */
export interface SmallBoardCall {
  /** The recv buffer's elements: the result lands here (and is read from here when `input` is absent: in place). */
  readonly bytes: Uint8Array;
  /** The send buffer's elements where the call is out of place: read, never written. */
  readonly input: Uint8Array | undefined;
  readonly work: BoardWork;
}

/** The shared-memory collective board (native/src/board.cc); lib/native/board.ts wraps it. */
export interface NativeBoard {
  /**
   * Runs the collective `code` says (lib/native/board.ts's runCode: kind, dtype, op, average,
   * root as integers) over `view` (the call's elements, in place) with every rank: true when done
   * at the call, false when onComplete(id, error) follows. `output` is reduceScatter's
   * out-of-place result (BoardWork.output); `input` an out-of-place allReduce's elements (read
   * only; `view` then gets the result).
   */
  run(id: number, view: ArrayBufferView, code: number, stamp: number, output?: ArrayBufferView, input?: ArrayBufferView): boolean;
  /**
   * Null while attaching (or when attaching failed); then the single-copy threshold every rank
   * agreed on (allgathers and broadcasts whose every read holds that many bytes read straight
   * from the peers' views), or fromBytes null and `off` saying why not.
   */
  singleCopy(): { fromBytes: number | null; off: string } | null;
  /**
   * Null while attaching (or when attaching failed); then "" where every rank's process can
   * fence its peers (membarrier), so that an arrival is a plain store and a rank about to sleep
   * fences instead, or why every arrival fences itself.
   */
  arrivalFence(): string | null;
  close(): void;
}

export interface NativeBoardAddon {
  /**
   * Attaches (rank 0 creates `name`) on the board's thread; timeoutMs bounds attaching and each
   * call; spinNs: how long run() waits for the peers on the calling thread before it hands a
   * small call to the board's thread. Absent from an addon built before it existed.
   */
  readonly Board?: new (
    name: string, rank: number, ranks: number, bufferBytes: number, timeoutMs: number, onComplete: (id: number, error: string | null) => void, singleCopyBytes: number, spinNs: number,
  ) => NativeBoard;
  /**
   * This process's boards' calls so far: by single copy, straight from every rank's host buffer, from
   * some ranks' (the others' through the lanes); and their threads' sleeps that ended with every
   * rank there, woken by the last arrival or at the end of a slice (a missed wake).
   */
  readonly boardCounters?: () => { singleCopyCalls: number; hostBufferCalls: number; hostBufferMixedCalls: number; sleepsRung: number; sleepsRunOut: number };
  /** An ArrayBuffer of `bytes` in a memfd of this process, mapped shared (native/src/host-buffer.cc). */
  readonly allocHostBuffer?: (bytes: number) => ArrayBuffer;
  /** Detaches and unmaps a buffer of allocHostBuffer; throws while a board call uses it. */
  readonly freeHostBuffer?: (buffer: ArrayBuffer) => void;
  /** This process's live host buffers. */
  readonly hostBufferCount?: () => number;
}

/** The calling thread's CPU affinity (native/src/affinity.cc): the launcher binds ranks with it. Absent from an addon built before it existed. */
export interface NativeAffinityAddon {
  /** The CPUs the calling thread may run on, ascending. */
  readonly threadAffinity?: () => number[];
  /** Restricts the calling thread to `cpus`; returns its CPUs before. */
  readonly setThreadAffinity?: (cpus: readonly number[]) => number[];
}

export interface NativeTcpAddon {
  /** digest: 48 hex characters of the job secret's hash (sent in the hello); host: the IPv4 address to listen on and advertise. */
  readonly TcpContext: new (digest: string, onCompletion: NativeCompletionCallback, host?: string) => NativeShmContext;
  /**
   * This process's tcp records so far, by the thread that read them (tests, benchmarks): the JS
   * thread's and the I/O thread's, and the hand-overs of reading between them
   * (native/src/tcp.cc, the JS thread's reads); the sendNow messages the socket took only part
   * of (their rest queued); and the receive completions of the records the JS thread read that
   * it delivered itself, in the same turn of the event loop, not through the completion queue.
   * Absent from an addon built before it existed.
   */
  readonly tcpCounters?: () => { jsRecords: number; ioRecords: number; handOvers: number; handBacks: number; splitSends: number; jsDelivered: number };
}

/** The software switch's native data plane (native/src/switch-dp.cc); lib/switch/native-door.ts wraps it. */
export interface NativeSwitchDataPlane {
  port(): number;
  /** hosts[w]: worker w's UDP address, null for a WebSocket worker; returns the job's handle. */
  addJob(number: number, workers: number, slotBase: number, slots: number, sizeClass: number, hosts: Array<string | null>, ports: number[], group?: string, groupPort?: number, via?: string): number;
  removeJob(handle: number): void;
  /** A packet that came another way (WebSocket): data-plane.ts's Verdict; a multicast already went to the UDP workers. */
  receive(handle: number, worker: number, bytes: Uint8Array): { kind: 'multicast' | 'unicast'; bytes: Uint8Array } | { kind: 'absorbed' } | { kind: 'drop'; reason: string };
  malformed(handle: number): void;
  jobCounters(handle: number): { packetsIn: number; packetsOut: number; retransmissions: number; stale: number; droppedIncomplete: number; wrongJob: number; malformed: number };
  counters(): { datagrams: number; strangers: number; sendErrors: number; dropped: number; duplicated: number; reordered: number; jobs: number } & NativeUdpOffloadCounters;
  /** Joins the thread, closes the socket; idempotent. */
  close(): void;
}

export interface NativeSwitchAddon {
  /** Absent from an addon built before the switch data plane existed. */
  readonly SwitchDataPlane?: new (
    host: string, port: number, onResult: (handle: number, bytes: Uint8Array) => void,
    faults?: { drop?: number; dup?: number; reorder?: number; seed?: number },
  ) => NativeSwitchDataPlane;
}

/**
 * What the kernel's UDP offloads did on a native switch or worker socket (native/src/udp-offload.h):
 * datagrams sent and the sendmmsg messages that carried them (a GSO message carries a run of
 * equal-size ones), receive buffers and the datagrams split out of them (a GRO buffer holds
 * several). gso/gro: whether each is on (WEBCCL_UDP_GSO=0 and old kernels turn them off; a GSO
 * send the path refuses turns GSO off and counts a fallback).
 */
export interface NativeUdpOffloadCounters {
  sentMessages: number;
  sentDatagrams: number;
  gsoMessages: number;
  gsoFallbacks: number;
  receivedBuffers: number;
  receivedDatagrams: number;
  groBuffers: number;
  gso: boolean;
  gro: boolean;
}

/** A switch worker's UDP socket (native/src/switch-worker.cc): batched sends, results by batch from a receive thread. */
export interface NativeSwitchWorkerSocket {
  port(): number;
  /** Connects to the switch's data port and starts the receive thread. */
  connect(host: string, port: number): void;
  /**
   * Before connect: joins IPv4 multicast `group` on this socket's interface (a second socket on
   * group:port); results there count only from switchHost:switchPort. Throws when it cannot join.
   */
  joinGroup?(group: string, port: number, switchHost: string, switchPort: number): void;
  /** One sendmmsg for all of them (runs of one size as GSO messages); what the kernel refuses is dropped (UDP). */
  send(packets: Uint8Array[]): void;
  /**
   * sendErrors: datagrams the kernel refused (a full buffer, an unreachable switch);
   * streamSentDatagrams: those the native streams sent (their first windows from the JS thread within stream()).
   */
  counters(): NativeUdpOffloadCounters & { sendErrors: number; streamSentDatagrams: number; groupDatagrams?: number; groupStrangers?: number };
  /** Test hook: the kernel refuses this socket's GSO sends from now on (UDP without checksums), so the fallback runs. */
  testRefuseGso(): void;
  /**
   * One allreduce on the receive thread (native/src/switch-stream.h); absent from an addon built
   * before it. Rejects when the socket closes during the call. See lib/switch/switch-link.ts's NativeStreamRunner.
   */
  stream?(input: Int32Array | Float32Array, output: Int32Array | Float32Array, agreed: Int32Array | null, params: NativeStreamParams): Promise<NativeStreamEnd>;
  /** true where stream() takes float32 with `agreed` null and agrees the exponents in the stream (SwitchML's lead); absent from an older addon. */
  streamLead?(): boolean;
  /** The job ended: the stream in flight ends once no result came for graceMs. */
  streamEnded?(graceMs: number): void;
  close(): void;
}

export interface NativeStreamParams {
  readonly job: number;
  readonly slotBase: number;
  readonly window: number;
  readonly sizeClass: number;
  /** The n float32 is quantized with. */
  readonly workers: number;
  /** 1 for sum, n for avg. */
  readonly divisor: number;
  /** The sequence number of the call's first packet (slots and copies continue across calls). */
  readonly baseSeq: number;
  readonly retransmitMs: number;
  readonly timeoutMs: number;
  /** float32 agreeing in the stream: the switch takes exponents-only packets (the welcome's flag), so the lead's go as headers alone. */
  readonly exponentsOnly?: boolean;
}

/** How a native stream ended ('timeout': no result for timeoutMs; 'ended': none for the grace after streamEnded), and its counters. */
export interface NativeStreamEnd {
  readonly end: 'done' | 'timeout' | 'ended';
  /** Packets without a result when it ended. */
  readonly outstanding: number;
  readonly sent: number;
  readonly retransmitted: number;
  readonly results: number;
  readonly duplicates: number;
  readonly wrongJob: number;
  readonly malformed: number;
  readonly windowCuts: number;
  readonly probes: number;
  /** Sends of the first window before all of it was encoded (switch-stream.h's start(); absent from an older addon). */
  readonly earlyFlushes?: number;
  /** When its phases happened (absent from an older addon): lib/switch/call-trace.ts. */
  readonly times?: NativeStreamTimes;
}

/** A native stream's phases in ms of CLOCK_MONOTONIC (-1: never; ended: -1 or the last result's when a timer ended it). */
export interface NativeStreamTimes {
  /** The congestion window it started with (packets). */
  readonly cwnd: number;
  /** Its first window left (on the JS thread). */
  readonly started: number;
  /** The lead's last result came (exponents agreed in the stream; -1 without a lead). */
  readonly leadDone: number;
  /** The first packet with values left (after the lead's first result where the stream agrees exponents; else started). */
  readonly firstDataSend: number;
  readonly firstResult: number;
  /** The last packet's first send. */
  readonly lastFirstSend: number;
  readonly lastResult: number;
  readonly ended: number;
}

export interface NativeSwitchWorkerAddon {
  /** onPackets gets each received batch: the datagrams end to end and their lengths, in buffers the socket reuses for the next batch (read them within the call). */
  readonly SwitchWorkerSocket?: new (bindHost: string, onPackets: (bytes: Uint8Array, lengths: Uint32Array) => void) => NativeSwitchWorkerSocket;
}

/**
 * A switch worker's per-value SwitchML work (native/src/switchml-codec.cc), with the signatures
 * of lib/cpu/switchml-packets.ts's SwitchmlPacketCodec; lib/native/switchml-codec.ts wraps them.
 * Absent from an addon built before the codec existed.
 */
export interface NativeSwitchmlCodecAddon {
  /** "avx2" or "baseline": which build of the loops this CPU runs (chosen at load). */
  readonly switchmlVariant?: string;
  /** Test hook: later calls run the baseline loops ('baseline') or the load-time choice again ('auto'); returns the name. */
  readonly switchmlSelectVariant?: (variant: 'baseline' | 'auto') => string;
  readonly switchmlBlockExponents?: (x: Float32Array, start: number, count: number, blockSize: number, out: Int32Array, outStart: number) => void;
  readonly switchmlQuantize?: (x: Float32Array, start: number, count: number, blockSize: number, exponents: Int32Array, exponentStart: number, workers: number, packet: DataView | Uint8Array, byteOffset: number, littleEndian?: boolean) => void;
  readonly int32ToBigEndian?: (x: Int32Array, start: number, count: number, packet: DataView | Uint8Array, byteOffset: number) => void;
  readonly switchmlDequantize?: (packet: DataView | Uint8Array, byteOffset: number, count: number, blockSize: number, exponents: Int32Array, exponentStart: number, workers: number, divisor: number, out: Float32Array, outStart: number, littleEndian?: boolean) => void;
  readonly int32FromBigEndian?: (packet: DataView | Uint8Array, byteOffset: number, count: number, divisor: number, out: Int32Array, outStart: number) => void;
}
