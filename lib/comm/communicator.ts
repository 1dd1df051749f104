// The communicator: NCCL's API as promises. Each call is checked and planned synchronously
// (bad arguments reject before anything is sent), given the next sequence number, and run in
// call order (like a CUDA stream: a call sees the results of the calls before it). Failures of
// any kind poison the communicator: pending and later calls reject until it is destroyed.
//
// A failure of this rank's own (a buffer found detached, destroyed or of another device when the
// call's turn comes, a GPU error, a buffer detached while the call runs) is also told to every
// peer, so that each fails the same call within a round trip with a RemoteError naming this
// rank, instead of waiting out the timeout. As with NCCL's asynchronous errors (which need
// ncclCommAbort), the communicator is then unusable on every rank: its peers may have exchanged
// part of the call among themselves, so no later call could be trusted to line up. Destroy it
// and create a new one. Arguments of the wrong shape (type, size, usage) are different: they
// are rejected before the call is queued, with no effect on any rank.
import { algorithmNamed, needsAgreementCheck } from '../collectives/algorithms.js';
import type { CollectiveContext } from '../collectives/context.js';
import { elementBytes, type DataType, type ReduceOp } from '../dtype.js';
import { asWebcclError, detailOf, internalError, invalidArgument, invalidUsage, remoteError, timeoutError, WebcclError } from '../errors.js';
import { logger, type Logger } from '../log.js';
import { readSettings } from '../settings.js';
import { aggregatorProvider, type Aggregation, type AggregatorSession } from '../memory/aggregator.js';
import type { Transport, TransportFailure } from '../transport/transport.js';
import { isBufferStateError, type CommBuffer, type Located } from '../memory/buffers.js';
import { ringCheck } from './agreement.js';
import { CallLink, type LinkOwner } from './call-link.js';
import { splitChannels, WORLD_CHANNELS, type Channels } from './channels.js';
import { agreeOnConfig, BOOTSTRAP_SIGNATURE, type Hello } from './bootstrap.js';
import { proposeConfig, type AgreedConfig, type ConfigOptions } from './config.js';
import { hostGroupOf, hostIdOf, type HostGroup } from './host-groups.js';
import { checkSwitchVia, switchAccessOf, switchLeafOf, switchPathHello, type SwitchAccess, type SwitchVia } from './switch-access.js';
import { leafPlacement, widestSwitch, type LeafPlacement } from './switch-leaves.js';
import { CpuMemorySpace } from '../cpu/cpu-memory.js';
import { GpuMemorySpace } from '../gpu/gpu-memory.js';
import { handledRejection, PendingGroup } from './group.js';
import { Health } from './health.js';
import type { MemorySpace } from '../memory/memory.js';
import {
  planAllGather, planAllReduce, planAllToAll, planBarrier, planBroadcast, planRecv, planReduce, planReduceScatter, planSend,
  type CallOptions, type CallPlan, type PlanEnv,
} from './plans.js';
import { PlanMemo, repeatableKey } from './plan-memo.js';
import { SharedTransport, type ControlNotice, type Endpoint } from './shared-transport.js';
import { formatCall, formatSignature } from './signature.js';
import { withDeadline } from '../transport/deadline.js';
import { worldFromEnvironment } from './environment.js';
import { connectWorld } from '../transport/world.js';
import { NO_CODEC } from '../memory/codec.js';
import type { Region, Scratch } from '../memory/memory.js';
import { ErrorFeedback, checkFeedbackKey, type FeedbackKey } from './error-feedback.js';
import { BoardAccess } from './board-access.js';
import { TreePlacement } from './tree-placement.js';
import type { SmallBoardCall } from '../transport/board.js';
import { allocHostBuffer, freeHostBuffer, holdHostBuffers, hostBuffersAllocated } from '../memory/host-buffers.js';
import { calibrateAtInit, choiceKey, describeChoice, proposeTuning, tuningWorld, type TuningOptions } from './tuning.js';
import { traceCall } from '../switch/call-trace.js';
import { AutoShapes, isTunedCollective, tuneCalls, type TunedCall, type TuneOptions } from './tuned-calls.js';
import { measuredKey } from '../tune/select.js';

export interface InitOptions extends ConfigOptions, TuningOptions {
  /** The world's id (from getUniqueId on one rank); not needed when `transport` is given. */
  readonly id?: string;
  readonly rank: number;
  readonly size: number;
  /** The device that owns the GPUBuffers this communicator will be given. */
  readonly device?: GPUDevice;
  /** A transport already connected for (rank, size); it is then not closed by destroy(). */
  readonly transport?: Transport;
  /** How long a peer may stay silent before calls fail with Timeout (default WEBCCL_TIMEOUT_MS, 30 s). */
  readonly timeoutMs?: number;
  /** This process's index among the ranks on its host (torchrun's LOCAL_RANK); informational. */
  readonly localRank?: number;
  /**
   * The secret the switch (algorithm 'switch') admits workers with: `webccl switch` prints it or
   * reads it from --secret-file. Default WEBCCL_SWITCH_SECRET, else WEBCCL_SECRET. Each rank's own.
   */
  readonly switchSecret?: string;
  /** This rank's host, for switchHierarchy 'host' (default WEBCCL_HOST_ID, else the machine's name in Node). */
  readonly hostId?: string;
  /**
   * How this rank reaches the switch when its address offers both: 'udp', or 'websocket' (the
   * switch's WebSocket door; for ranks that cannot use UDP). Default WEBCCL_SWITCH_VIA, else UDP
   * where this build has it (Node) and the door in a browser. Each rank's own: the switch mixes them.
   */
  readonly switchVia?: SwitchVia;
  /**
   * Two levels of switches: this rank's leaf switch ('host:port', a ws:// URL or both), one that
   * runs `webccl switch --parent ROOT`; default WEBCCL_SWITCH_LEAF. Each rank's own, and every
   * rank names one or none does; `switch` then names the root. Ranks naming the same string
   * share a leaf (switch-leaves.ts).
   */
  readonly switchLeaf?: string;
}

export { getUniqueId } from '../transport/world.js';

interface CommunicatorParts {
  readonly shared: SharedTransport;
  readonly channels: Channels;
  /** Transport rank of each communicator rank. */
  readonly members: readonly number[];
  readonly rank: number;
  readonly timeoutMs: number;
  readonly device: GPUDevice | undefined;
  readonly localRank: number;
  readonly config: AgreedConfig | undefined;
  readonly switchAccess: SwitchAccess;
}

export class Communicator implements LinkOwner, Endpoint {
  /** Creates the world communicator of `id` (ncclCommInitRank); every rank must call it. */
  static async init(options: InitOptions): Promise<Communicator> {
    const { rank, size } = options;
    if (!Number.isInteger(size) || size < 1) throw invalidArgument(`init: size ${size} is not a positive integer`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw invalidArgument(`init: rank ${rank} is not in 0..${size - 1}`);
    let timeoutMs: number;
    let proposal: AgreedConfig;
    try {
      timeoutMs = options.timeoutMs ?? readSettings().timeoutMs;
      proposal = proposeConfig(options);
      checkSwitchVia(options.switchVia);
      switchLeafOf(options.switchLeaf);
    } catch (error) {
      throw invalidArgument(`init on rank ${rank}: ${(error as Error).message}`);
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw invalidArgument(`init: timeoutMs ${timeoutMs} is not a positive number`);
    const transport = options.transport ?? await connectWorld(options.id, rank, size, timeoutMs);
    if (transport.rank !== rank || transport.size !== size) {
      throw invalidArgument(`init: the transport is rank ${transport.rank} of ${transport.size}, not rank ${rank} of ${size}`);
    }
    // Proposed again now that the transport says whether its rendezvous server hosts a switch.
    let switchAccess: SwitchAccess;
    try {
      proposal = proposeConfig(options, transport.hostedSwitch?.address ?? '', transport.chunkBytes, transport.meshThresholdBytes);
      switchAccess = switchAccessOf(options, transport);
    } catch (error) {
      if (!options.transport) await transport.close();
      throw invalidArgument(`init on rank ${rank}: ${(error as Error).message}`);
    }
    const shared = SharedTransport.of(transport);
    if (!options.transport) shared.owned = true;
    const comm = new Communicator({
      shared, channels: WORLD_CHANNELS, members: Array.from({ length: size }, (_, r) => r), rank, timeoutMs,
      device: options.device, localRank: options.localRank ?? rank, config: undefined,
      switchAccess,
    });
    try {
      proposal = await proposeTuning(proposal, options, tuningWorld(size, transport.description, options.device), comm.initLog);
      const board = transport.board === undefined ? {} : { board: true as const };
      await comm.bootstrap(proposal, { host: hostIdOf(options.hostId), leaf: switchAccess.leaf, ...await switchPathHello(proposal.switch, switchAccess), ...board });
      if (comm.config.calibrate) comm.agreed = { ...comm.config, tuning: await calibrateAtInit(comm, comm.initLog) };
    } catch (error) {
      await comm.destroy().catch(() => undefined);
      throw error;
    }
    comm.initLog.info(`rank ${rank} of ${size} ready on ${transport.description}, config ${JSON.stringify(comm.config)}`);
    return comm;
  }

  /**
   * Creates the world communicator from the environment: WEBCCL_ID, or the rendezvous address
   * (MASTER_ADDR/MASTER_PORT or what the launcher implies, through the provider WEBCCL_TRANSPORT
   * names); rank, size and local rank from torchrun's, Open MPI's, PMI's or Slurm's variables
   * (launchers.ts). Options override the environment.
   */
  static async fromEnv(options: Partial<InitOptions> = {}): Promise<Communicator> {
    return Communicator.init({ ...options, ...await worldFromEnvironment(options) });
  }

  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
  readonly device: GPUDevice | undefined;
  readonly health: Health;
  readonly name: string;
  readonly channels: readonly number[];

  private readonly shared: SharedTransport;
  private readonly channelIds: Channels;
  private readonly members: readonly number[];
  private agreed: AgreedConfig | undefined;
  private readonly initLog: Logger;
  private readonly log: Logger;
  private readonly cpuSpace = new CpuMemorySpace();
  private gpuSpace: GpuMemorySpace | undefined;
  /** The last allReduce's plan, for a call that repeats it (plan-memo.ts). */
  private readonly allReduceMemo = new PlanMemo();
  /** Calls run one after another (groups as one); this is the last one queued. */
  private tail: Promise<void> = Promise.resolve();
  /** Calls (and feedback reads and resets) queued and not settled yet. */
  private queued = 0;
  /** Sequence number of the next collective; 0 is the bootstrap exchange. */
  private nextSeq = 1;
  private readonly p2pSeq = { send: new Map<number, number>(), recv: new Map<number, number>() };
  private group: PendingGroup | undefined;
  /** Ranks that destroyed their side cleanly: their transport going away is not a failure. */
  private readonly departed = new Set<number>();
  private destroying: Promise<void> | undefined;
  /** The error later calls get after a clean destroy(). */
  private destroyedError: WebcclError | undefined;
  private readonly switchAccess: SwitchAccess;
  /** This communicator's job on the switch, joined at its first switch call (every rank's first is the same call). */
  private switchSession: Promise<AggregatorSession> | undefined;
  private readonly board: BoardAccess;
  /** The double binary tree's labels (a slow rank placed at a root/leaf). */
  private readonly treePlacement: TreePlacement;
  /** Fallbacks from the switch already logged (once per reason, not once per call). */
  private readonly fallbacksLogged = new Set<string>();
  private hostGroupMemo: HostGroup | undefined;
  /** The cost model's choices already logged (once per collective, size class and choice). */
  private readonly choicesLogged = new Set<string>();
  /** The call shapes run under 'auto', for tune(). */
  private readonly autoShapes = new AutoShapes();

  private constructor(parts: CommunicatorParts) {
    this.shared = parts.shared;
    this.channelIds = parts.channels;
    this.channels = [parts.channels.collective, parts.channels.p2p];
    this.members = parts.members;
    this.rank = parts.rank;
    this.size = parts.members.length;
    this.localRank = parts.localRank;
    this.device = parts.device;
    this.agreed = parts.config;
    this.health = new Health(parts.timeoutMs);
    this.name = `rank ${this.rank} of ${this.size} (communicator ${parts.channels.collective})`;
    const transportRank = this.transport.rank;
    this.initLog = logger('INIT', transportRank);
    this.log = logger('COLL', transportRank);
    this.switchAccess = parts.switchAccess;
    this.board = new BoardAccess(this.shared.transport.board, { members: this.members, channel: this.channelIds.collective, rank: this.rank, timeoutMs: this.health.timeoutMs });
    this.treePlacement = new TreePlacement(this.members);
    // A clean destroy() poisons the communicator too (later calls reject); that is no warning.
    this.health.onFail((error) => (error === this.destroyedError ? this.log.info : this.log.warn)(`${this.name}: ${error.message}`));
    // Leaving the job makes the switch tell every other rank, whose call in flight then ends.
    this.health.onFail(() => {
      this.leaveSwitch();
      this.board.close();
    });
    this.shared.register(this);
  }

  get transport(): Transport {
    return this.shared.transport;
  }

  /** The configuration every rank agreed on at init (rank 0's). */
  get config(): AgreedConfig {
    if (!this.agreed) throw invalidUsage(`${this.name}: not initialized`);
    return this.agreed;
  }

  /** Error-feedback residuals by the keys calls named (see error-feedback.ts). */
  private readonly feedback = new ErrorFeedback();

  /**
   * Frees the error-feedback residual of `key` (every key's when none is given) once the calls
   * queued before have run; the key's next call starts from zeros. destroy() frees them all.
   */
  resetErrorFeedback(key?: FeedbackKey): Promise<void> {
    try {
      checkFeedbackKey(`resetErrorFeedback on ${this.name}`, key);
    } catch (error) {
      return Promise.reject(error);
    }
    const done = this.tail.then(() => this.feedback.reset(key));
    this.follow(done);
    return done;
  }

  /**
   * A copy of the error-feedback residual of `key` once the calls queued before have run
   * (undefined if it has none): what this rank's encodings have lost so far and will add back.
   */
  readErrorFeedback(key: FeedbackKey): Promise<Float32Array | undefined> {
    const read = this.tail.then(async () => {
      const found = this.feedback.find(key);
      if (!found) return undefined;
      const bytes = await found.space.bind('float32', undefined, 1).read(found.region, 0, found.count);
      return new Float32Array(bytes.buffer, bytes.byteOffset, found.count);
    });
    this.follow(read);
    return read;
  }

  /** Float32 elements of error-feedback residual this communicator holds (4 bytes each, per key). */
  get errorFeedbackElements(): number {
    return this.feedback.elements;
  }

  /** Staging and scratch GPU buffers this communicator created so far (they are pooled and reused). */
  get gpuBuffersCreated(): number {
    return this.gpuSpace?.buffersCreated ?? 0;
  }

  transportRank(peer: number): number {
    return this.members[peer]!;
  }

  private sentPayloadBytes = 0;

  /**
   * Payload bytes this communicator's calls have handed to its transport so far (encoded bytes
   * under compression; frame headers and a switch's traffic not counted).
   */
  get bytesSent(): number {
    return this.sentPayloadBytes;
  }

  recordSent(bytes: number): void {
    this.sentPayloadBytes += bytes;
  }

  // ---- host buffers ------------------------------------------------------------------------

  /**
   * An ArrayBuffer of `bytes` that the ranks on this host can map (a memfd; NCCL's ncclMemAlloc
   * with the buffer registered, MPI's MPI_Alloc_mem): a large allgather or broadcast on the board
   * whose views lie in such buffers reads straight from the owners' (one memcpy instead of two
   * through the board's lanes). Where the transport has no board (or no addon), an ordinary
   * ArrayBuffer that calls treat like any other. Free it with freeHostBuffer (or let it be
   * collected); a view of it works with any communicator of this process.
   */
  allocHostBuffer(bytes: number): ArrayBuffer {
    return allocHostBuffer(this.shared.transport.board?.hostBuffers, bytes);
  }

  /** Frees a buffer of allocHostBuffer (the ArrayBuffer or a view of it): InvalidUsage while a call uses it; any view of it is then empty, and a call given one rejects. */
  freeHostBuffer(buffer: ArrayBuffer | ArrayBufferView): void {
    freeHostBuffer(this.shared.transport.board?.hostBuffers, buffer);
  }

  // ---- collectives -------------------------------------------------------------------------

  allReduce(send: CommBuffer, recv: CommBuffer, count: number, dtype: DataType, op: ReduceOp, options?: CallOptions): Promise<void> {
    const repeatable = typeof op === 'string' ? repeatableKey(op, options) : undefined;
    const traced = traceCall();
    const repeated = traced === undefined ? this.submitRepeatedSmall(this.allReduceMemo.last(this.config, send, recv, count, dtype, repeatable)) : undefined;
    if (repeated !== undefined) return repeated;
    const call = this.submitAllReduce(send, recv, count, dtype, op, options, repeatable);
    if (traced !== undefined) void call.then(traced, traced);
    return call;
  }

  /** allReduce's general path (its own function: the closures' scope would be allocated on every call, a repeated small one included). */
  private submitAllReduce(send: CommBuffer, recv: CommBuffer, count: number, dtype: DataType, op: ReduceOp, options: CallOptions | undefined, repeatable: string | number | undefined): Promise<void> {
    const build = () => planAllReduce(this.planEnv(), send, recv, count, dtype, op, options);
    return this.submit(() => this.allReduceMemo.reuse(this.config, send, recv, count, dtype, repeatable, build), [send, recv]);
  }

  broadcast(send: CommBuffer | null, recv: CommBuffer, count: number, dtype: DataType, root: number, options?: CallOptions): Promise<void> {
    return this.submit(() => planBroadcast(this.planEnv(), send, recv, count, dtype, root, options), [send, recv]);
  }

  reduce(send: CommBuffer, recv: CommBuffer | null, count: number, dtype: DataType, op: ReduceOp, root: number, options?: CallOptions): Promise<void> {
    return this.submit(() => planReduce(this.planEnv(), send, recv, count, dtype, op, root, options), [send, recv]);
  }

  allGather(send: CommBuffer, recv: CommBuffer, sendCount: number, dtype: DataType, options?: CallOptions): Promise<void> {
    return this.submit(() => planAllGather(this.planEnv(), send, recv, sendCount, dtype, options), [send, recv]);
  }

  reduceScatter(send: CommBuffer, recv: CommBuffer, recvCount: number, dtype: DataType, op: ReduceOp, options?: CallOptions): Promise<void> {
    return this.submit(() => planReduceScatter(this.planEnv(), send, recv, recvCount, dtype, op, options), [send, recv]);
  }

  allToAll(send: CommBuffer, recv: CommBuffer, count: number, dtype: DataType): Promise<void> {
    return this.submit(() => planAllToAll(this.planEnv(), send, recv, count, dtype), [send, recv]);
  }

  send(buffer: CommBuffer, count: number, dtype: DataType, peer: number): Promise<void> {
    return this.submit(() => planSend(this.planEnv(), buffer, count, dtype, peer), [buffer]);
  }

  recv(buffer: CommBuffer, count: number, dtype: DataType, peer: number): Promise<void> {
    return this.submit(() => planRecv(this.planEnv(), buffer, count, dtype, peer), [buffer]);
  }

  barrier(): Promise<void> {
    return this.submit(() => planBarrier(this.planEnv(), this.cpuSpace));
  }

  /**
   * Calibration's (lib/tune/calibrate.ts): the world rank behind the slowest link, placed at a
   * root/leaf of the double binary tree and at a leaf of broadcast's and reduce's trees for the
   * calls that follow (undefined: none, the identity), over what the agreed tuning says. Every
   * rank must call it with the same rank, between calls.
   */
  placeTree(slowWorldRank: number | undefined): void {
    this.treePlacement.place(slowWorldRank);
  }

  /**
   * Times, on this world and now, the algorithms the cost model ranks nearest its pick for each
   * call shape (allreduce, reduce-scatter, all-gather, broadcast, reduce) run under 'auto' since the last tune() (with `again`, every one so far), and
   * has 'auto' run the fastest for those shapes from then on (FFTW's MEASURE, cuDNN's benchmark
   * mode). Worth calling once a training loop's first steps have run: the model's parameters were
   * measured early and can rank a near tie wrongly. Costs about (rounds + 1) blocks of 50 ms (of
   * at least one call, plus one untimed) for each candidate of each shape. Every rank must call it at the same point, after the same calls,
   * and await it before its next call; ranks that ran different shapes fail it with InvalidUsage.
   */
  async tune(options: TuneOptions = {}): Promise<TunedCall[]> {
    if (this.group) throw invalidUsage(`tune on ${this.name}: tune cannot be called inside a group`);
    if (this.size === 1) return [];
    const { tuned, config } = await tuneCalls(this, this.autoShapes, options);
    this.agreed = config;
    for (const call of tuned) {
      const times = call.seconds.map((c) => `${c.algorithm} ${(c.seconds * 1e6).toFixed(1)} us`).join(', ');
      this.log.info(`${this.name}: tune: ${call.collective} of ${call.bytes} bytes ${call.call.dtype}${call.call.op === undefined ? '' : ` ${call.call.op}`} (${call.memory} memory): ${times}; auto runs ${call.algorithm} (before: ${call.previous})`);
    }
    return tuned;
  }

  // ---- groups ------------------------------------------------------------------------------

  groupStart(): void {
    if (this.group) this.group.depth++;
    else this.group = new PendingGroup();
  }

  /** Runs the calls queued since the outermost groupStart together; rejects with the first error. */
  groupEnd(): Promise<void> {
    const group = this.group;
    if (!group) return Promise.reject(invalidUsage(`groupEnd on ${this.name} without groupStart`));
    if (--group.depth > 0) return Promise.resolve();
    this.group = undefined;
    if (group.invalid) {
      const cancelled = invalidArgument(`${this.name}: group cancelled, nothing was sent: ${detailOf(group.invalid)}`);
      for (const entry of group.entries) entry.reject(cancelled);
      return Promise.reject(group.invalid);
    }
    // Sequence numbers in call order, so that every rank numbers the group's calls alike.
    const seqs = group.entries.map((entry) => this.assignSeq(entry.plan));
    const ran = this.enqueue(async () => {
      // Every call's buffers are checked before any of them sends.
      await this.verify(group.entries.map((entry) => entry.plan));
      const outcomes = await Promise.allSettled(group.entries.map((entry, i) => this.execute(entry.plan, seqs[i]!, false)));
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') group.entries[i]!.resolve();
        else group.entries[i]!.reject(outcome.reason);
      });
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    });
    // If the group never ran (communicator already poisoned), its calls fail as it did.
    ran.catch((error: unknown) => { for (const entry of group.entries) entry.reject(error); });
    return ran;
  }

  // ---- split, abort, destroy ---------------------------------------------------------------

  /**
   * Splits this communicator (ncclCommSplit): ranks passing the same color form a new one,
   * ordered by key (then by rank here). A null color takes part but gets no communicator.
   * Every rank must call it. The child shares this communicator's transport and configuration.
   */
  async split(color: number | null, key: number = this.rank): Promise<Communicator | null> {
    const what = `split on ${this.name}`;
    if (this.group) throw invalidUsage(`${what}: split cannot be called inside a group`);
    if (color !== null && (!Number.isInteger(color) || color < 0 || color > 0x7fffffff)) {
      throw invalidArgument(`${what}: color ${color} is not null or an integer in 0..2^31-1`);
    }
    if (!Number.isInteger(key) || key < -0x80000000 || key > 0x7fffffff) throw invalidArgument(`${what}: key ${key} is not a 32-bit integer`);
    const seq = this.nextSeq;
    const everyone = new Int32Array(2 * this.size);
    await this.allGather(Int32Array.of(color ?? -1, key), everyone, 2, 'int32');
    if (color === null) return null;
    const chosen = Array.from({ length: this.size }, (_, r) => r)
      .filter((r) => everyone[2 * r] === color)
      .sort((a, b) => everyone[2 * a + 1]! - everyone[2 * b + 1]! || a - b);
    const child = new Communicator({
      shared: this.shared, channels: splitChannels(this.channelIds, seq, color), members: chosen.map((r) => this.members[r]!),
      rank: chosen.indexOf(this.rank), timeoutMs: this.health.timeoutMs, device: this.device, localRank: this.localRank,
      config: this.config, switchAccess: this.switchAccess,
    });
    this.initLog.info(`${this.name}: split color ${color} key ${key} -> ${child.name}, parent ranks [${chosen.join(', ')}]`);
    return child;
  }

  /** Fails every pending and later call here and on every other rank (ncclCommAbort). */
  async abort(): Promise<void> {
    if (this.health.fail(invalidUsage(`${this.name}: aborted by abort() on this rank`))) {
      await this.notifyAll({ type: 'abort' });
    }
  }

  /** Waits for queued calls, then releases this communicator (and its transport if it is the last). */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      await this.tail;
      await this.notifyAll({ type: 'bye' });
      this.destroyedError = invalidUsage(`${this.name} was destroyed`);
      this.health.fail(this.destroyedError);
      this.leaveSwitch();
      await this.shared.unregister(this);
      this.feedback.reset();
      this.cpuSpace.release();
      this.gpuSpace?.release();
    })();
    return this.destroying;
  }

  // ---- LinkOwner and Endpoint --------------------------------------------------------------

  reportUsageError(error: WebcclError): void {
    if (this.health.fail(error)) void this.notifyAll({ type: 'error', code: error.code, message: error.detail });
  }

  /** A call failed here first: poison, and tell the peers (see the top of this file). */
  private reportLocalFailure(error: WebcclError): void {
    // Ranks running different calls, found here (the board compares their stamps): the peers'
    // misuse too, as a header's mismatch is. A misuse of this rank's own (a buffer detached
    // mid-call) is news to the peers: RemoteError naming this rank.
    if (error.acrossRanks) return this.reportUsageError(error);
    if (this.health.fail(error)) void this.notifyAll({ type: 'failed', code: error.code, message: error.message });
  }

  onControl(fromTransportRank: number, notice: ControlNotice): void {
    const peer = this.members.indexOf(fromTransportRank);
    if (peer < 0) return;
    switch (notice.type) {
      case 'abort':
        this.health.fail(remoteError(`${this.name}: rank ${peer} aborted the communicator`));
        break;
      case 'error':
        this.health.fail(new WebcclError(notice.code, `${this.name}: rank ${peer} reported: ${notice.message}`));
        break;
      case 'failed':
        this.health.fail(remoteError(`${this.name}: rank ${peer} failed: ${notice.message}`));
        break;
      case 'bye':
        this.departed.add(peer);
        break;
    }
  }

  onTransportFailure(failure: TransportFailure): void {
    const peer = failure.peer === undefined ? undefined : this.members.indexOf(failure.peer);
    if (peer === -1 || (peer !== undefined && this.departed.has(peer))) return;
    const detail = detailOf(failure.error);
    const code = failure.error instanceof WebcclError ? failure.error.code : 'SystemError';
    const about = peer === undefined ? 'the transport failed' : `lost rank ${peer}`;
    this.health.fail(new WebcclError(code, `${this.name}: ${about}: ${detail}`, { cause: failure.error }));
  }

  // ---- internals ---------------------------------------------------------------------------

  private planEnv(): PlanEnv {
    return {
      rank: this.rank, size: this.size, name: this.name, config: this.config, spaceOf: (what, located) => this.spaceOf(what, located),
      // The agreed board (every rank has one, so this rank's too), not this rank's own: the choice must be the same everywhere.
      ...this.switchWidth(), ...(this.config.board && { board: true }),
      checkFeedback: (what, key, space, count, codec) => this.feedback.check(what, key, space, count, codec),
      fellBack: (what, reason, algorithm) => {
        if (this.fallbacksLogged.has(reason)) return;
        this.fallbacksLogged.add(reason);
        this.log.info(`${what}: ${reason}; using ${algorithm} (logged once per reason)`);
      },
      planned: (collective, count, call, memory) => {
        // premulSum's scalar is the call's own: tune() could not repeat the call.
        if (!isTunedCollective(collective) || typeof call.op === 'object') return;
        const key = measuredKey(collective, count * elementBytes(call.dtype), this.size, call, memory);
        // Asked on every call under 'auto': the shape is built only the first time.
        if (!this.autoShapes.wants(key)) return;
        const { op, ...rest } = call;
        this.autoShapes.note(key, { collective, count, call: { ...rest, ...(op !== undefined && typeof op !== 'object' && { op }) }, memory: memory ?? 'cpu' });
      },
      modelChose: (collective, bytes, choice) => {
        const key = choiceKey(collective, bytes, choice);
        if (this.choicesLogged.has(key)) return;
        this.choicesLogged.add(key);
        this.log.info(`${this.name}: ${describeChoice(collective, bytes, choice)} (logged once per size class)`);
      },
    };
  }

  /**
   * The call's aggregator, for an algorithm that reduces through one (joining the switch's job
   * first). With switchHierarchy 'host', the ranks of this host too: only its leader joins.
   */
  private async aggregation(plan: CallPlan): Promise<Pick<CollectiveContext, 'aggregation' | 'hostRanks'>> {
    const kind = algorithmNamed(plan.schedule)?.aggregator;
    if (kind === undefined) return {};
    const group = this.hostGroup;
    if (group !== undefined && group.ranks[0] !== this.rank) return { hostRanks: group.ranks };
    const { address, ...place } = this.switchPlace();
    this.switchSession ??= (async () => {
      const { secret, via } = this.switchAccess;
      if (!secret) {
        throw invalidArgument(`${this.name}: the switch at ${address} needs its secret (init option switchSecret, WEBCCL_SWITCH_SECRET or WEBCCL_SECRET; webccl switch prints it, or reads it with --secret-file)`);
      }
      // The world's job is rank 0's name; a split child's adds its channel, which its members derive alike.
      const job = `${this.config.switchJob}.${this.channelIds.collective}`;
      const { switchPacketValues: packetValues } = this.config;
      if (typeof packetValues !== 'number') throw internalError(`${this.name}: the switch packet values were not agreed at init (${String(packetValues)})`);
      return aggregatorProvider(kind).join({ address, secret, ...(via ? { via } : {}), job, ...place, packetValues, timeoutMs: this.health.timeoutMs });
    })();
    const session = await this.health.watch(this.switchSession, () => timeoutError(`${this.name}: joining the job on switch ${address} took over ${this.health.timeoutMs} ms`));
    const aggregation: Aggregation = { aggregator: session.forCall(), dtype: plan.dtype, op: plan.op! };
    return group === undefined ? { aggregation } : { aggregation, hostRanks: group.ranks };
  }

  /** The communicator ranks that are workers of the switch job: every rank, or the hosts' leaders. */
  private get switchWorkers(): readonly number[] {
    return this.hostGroup?.leaders ?? this.members.map((_, r) => r);
  }

  /** Where this (worker) rank joins the switch job, and as which worker: the agreed switch, or its own leaf under a root. */
  private switchPlace(): { readonly address: string; readonly rank: number; readonly size: number } & Partial<LeafPlacement> {
    const { switch: address, leaves } = this.config;
    const workers = this.switchWorkers;
    if (leaves === undefined) return { address, rank: workers.indexOf(this.rank), size: workers.length };
    return { address: this.switchAccess.leaf, ...leafPlacement(leaves, this.members, workers, this.rank) };
  }

  /** The plans' count of workers at the widest switch, when that is not one per rank. */
  private switchWidth(): Pick<PlanEnv, 'switchWorkers'> {
    const { leaves } = this.config;
    if (leaves !== undefined) return { switchWorkers: widestSwitch(leaves, this.members, this.switchWorkers) };
    return this.hostGroup === undefined ? {} : { switchWorkers: this.switchWorkers.length };
  }

  /** This rank's host group under switchHierarchy 'host' (undefined: flat), computed once. */
  private get hostGroup(): HostGroup | undefined {
    const { hosts } = this.config;
    if (hosts === undefined) return undefined;
    this.hostGroupMemo ??= hostGroupOf(hosts, this.members, this.rank);
    return this.hostGroupMemo;
  }

  private leaveSwitch(): void {
    this.switchSession?.then((session) => session.close(), () => undefined);
  }

  private spaceOf(what: string, located: Located): MemorySpace {
    if (located.kind === 'cpu') return this.cpuSpace;
    if (!this.device) throw invalidArgument(`${what}: a GPUBuffer needs the device passed to Communicator.init({ device })`);
    this.gpuSpace ??= new GpuMemorySpace(this.device);
    return this.gpuSpace;
  }

  /** Runs the call `build` plans; the host buffers among `buffers` cannot be freed until it settles. */
  private submit(build: () => CallPlan, buffers: readonly unknown[] = []): Promise<void> {
    const release = holdHostBuffers(buffers);
    if (release === undefined) return this.submitPlan(build);
    const call = this.submitPlan(build);
    void call.then(release, release);
    return call;
  }

  /** Checks and plans a call now; queues it (or adds it to the open group). */
  private submitPlan(build: () => CallPlan): Promise<void> {
    let plan: CallPlan;
    try {
      if (this.destroying) throw invalidUsage(`${this.name} was destroyed`);
      this.health.check();
      plan = build();
    } catch (error) {
      // A buffer in a bad state fails the call on every rank when its turn comes (in a group,
      // before the group's turn: the group then fails with it).
      if (isBufferStateError(error)) return this.enqueue(async () => this.failHere(error));
      if (this.group && error instanceof WebcclError && error.code === 'InvalidArgument') {
        this.group.invalid ??= error;
        return handledRejection(error);
      }
      return Promise.reject(error);
    }
    if (this.group) return this.group.add(plan);
    return this.dispatch(plan);
  }

  /**
   * A small board call made again (the memo's last plan, with CallPlan.smallBoard) sent on its
   * way without the closures and the array submit makes for it: a call that runs now allocates
   * only its settled promise, so a loop of them rarely wakes V8's scavenger (whose pause stalls
   * every rank). Undefined where submit must take it: no such plan, a destroyed or failed
   * communicator, an open group, or host buffers allocated (which submit holds).
   */
  private submitRepeatedSmall(plan: CallPlan | undefined): Promise<void> | undefined {
    if (plan?.smallBoard === undefined || this.destroying || this.health.error !== undefined || this.group !== undefined || hostBuffersAllocated()) return undefined;
    return this.dispatch(plan);
  }

  /** Numbers a planned call and runs it: now on the board's short path where it can, else queued. */
  private dispatch(plan: CallPlan): Promise<void> {
    const seq = this.assignSeq(plan);
    // Nothing queued before it: a small board allreduce runs now (traced calls take the long path, which logs them).
    const small = plan.smallBoard !== undefined && this.queued === 0 && !this.log.traceEnabled ? this.runSmall(plan, plan.smallBoard, seq) : undefined;
    return small ?? this.enqueueExecute(plan, seq);
  }

  /** Queues execute(plan, seq) (its own function: a closure made in dispatch would allocate its scope on every call, short path included). */
  private enqueueExecute(plan: CallPlan, seq: number): Promise<void> {
    return this.enqueue(() => this.execute(plan, seq));
  }

  /**
   * The short path of a small host-memory allreduce on the board, with no call queued before it:
   * the buffers' check execute makes, then one native call that runs the whole exchange on this
   * thread when the peers come within the board's spin (a promise already settled), else on the
   * board's thread (queued like any call: later ones wait for it). What execute and the board
   * algorithm do besides (a CallLink, a bound memory, the out-of-place copy, which the board
   * makes from the send buffer itself) a call like this does not need. Undefined: a call bound
   * to the board before it is still pending (a group's): queue it.
   */
  private runSmall(plan: CallPlan, call: SmallBoardCall, seq: number): Promise<void> | undefined {
    try {
      // Host memory answers at once (undefined) or throws, reported, as when execute checks.
      if (this.verifyOne(plan) !== undefined) return undefined;
    } catch (error) {
      return Promise.reject(error);
    }
    let ran: true | Promise<void> | undefined;
    try {
      ran = this.board.runNow(plan.signature, seq, call);
    } catch (error) {
      return Promise.reject(this.ranFailed(plan, seq, error));
    }
    if (ran === undefined) return undefined;
    // Done here: nothing to wait for, so nothing to queue.
    if (ran === true) return SETTLED;
    return this.followHandedOver(ran, plan, seq);
  }

  /** A short-path call the board's thread finishes, queued like any call (its own function: see enqueueExecute). */
  private followHandedOver(ran: Promise<void>, plan: CallPlan, seq: number): Promise<void> {
    const run = ran.catch((error: unknown) => { throw this.ranFailed(plan, seq, error); });
    this.follow(run);
    return run;
  }

  private assignSeq(plan: CallPlan): number {
    if (!plan.p2p) return this.nextSeq++;
    const counters = this.p2pSeq[plan.p2p.direction];
    const seq = counters.get(plan.p2p.peer) ?? 0;
    counters.set(plan.p2p.peer, seq + 1);
    return seq;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const start = (): Promise<void> => {
      this.health.check();
      return task();
    };
    // With nothing queued the call starts now, not a turn of the microtask queue later.
    const run = this.queued === 0 ? startNow(start) : this.tail.then(start);
    this.follow(run);
    return run;
  }

  /** Makes `work` the last thing queued: what is queued next waits for it to settle. */
  private follow(work: Promise<unknown>): void {
    this.queued++;
    const done = () => { this.queued--; };
    this.tail = work.then(done, done);
  }

  private failHere(error: WebcclError): never {
    this.reportLocalFailure(error);
    throw error;
  }

  /**
   * Checks the state of the calls' buffers before any of them sends (a failure is reported), in
   * call order. Undefined: every check finished at once (host memory's), with no await to pay.
   */
  private verify(plans: readonly CallPlan[], from = 0): Promise<void> | undefined {
    for (let i = from; i < plans.length; i++) {
      const pending = this.verifyOne(plans[i]!);
      if (pending !== undefined) return pending.then(() => this.verify(plans, i + 1), (error: unknown) => this.failVerify(error));
    }
    return undefined;
  }

  /** One plan's check (verify's step; the short path's whole check, with no array made for it). */
  private verifyOne(plan: CallPlan): Promise<void> | undefined {
    try {
      return plan.space.verify(plan.buffers);
    } catch (error) {
      this.failVerify(error);
    }
  }

  private failVerify(error: unknown): never {
    this.failHere(asWebcclError(error, 'InternalError', `${this.name}: checking the buffers of a call`));
  }

  private async execute(plan: CallPlan, seq: number, verify = true): Promise<void> {
    if (verify) {
      const checking = this.verify([plan]);
      if (checking !== undefined) await checking;
    }
    const channel = plan.p2p ? this.channelIds.p2p : this.channelIds.collective;
    const link = new CallLink(this, { channel, seq, signature: plan.signature, schedule: plan.schedule });
    const codec = plan.codec ?? NO_CODEC;
    // An error-feedback codec's residual: the key's (kept), or zeros for this call alone
    // where the codec always uses one.
    let transient: Scratch | undefined;
    let residual: Region | undefined;
    const count = plan.signature.count;
    if (codec.errorFeedback && plan.feedback !== undefined) residual = this.feedback.residual(plan.feedback, plan.space, count, codec.name);
    else if (codec.errorFeedback === 'always') residual = (transient = plan.space.residual(count, 'call')).region;
    const memory = plan.space.bind(plan.dtype, plan.op, this.size, codec, residual);
    const traced = this.log.traceEnabled ? `${formatCall(plan.signature, plan.schedule)} #${seq}` : '';
    if (traced) this.log.trace(`${this.name}: ${traced} start`);
    try {
      const row = algorithmNamed(plan.schedule);
      // Awaited only where there is one to join: an await costs a turn of the microtask queue.
      const aggregation = row?.aggregator === undefined ? undefined : await this.aggregation(plan);
      const board = row?.board ? { board: this.board.forCall(plan.signature, seq, plan.dtype, plan.op) } : undefined;
      const slowRank = this.treePlacement.slowRank(this.config);
      const ctx: CollectiveContext = { rank: this.rank, size: this.size, link, memory, ...this.chunking(plan.dtype, plan.chunkBytes), ...aggregation, ...board, ...(slowRank !== undefined && { slowRank }) };
      // Point-to-point calls involve two ranks only; their messages are checked by the receiver.
      // Schedules whose own messages reach every rank's ring successor need no check (agreement.ts).
      if (plan.p2p !== undefined || !needsAgreementCheck(plan.schedule, plan.signature.kind, count === 0, this.size)) await plan.run(ctx, memory);
      else await Promise.all([plan.run(ctx, memory), ringCheck(link, this.rank, this.size)]);
      const finishing = memory.finish();
      if (finishing !== undefined) await finishing;
      transient?.release();
    } catch (error) {
      if (transient?.abandon) transient.abandon();
      else transient?.release();
      throw this.ranFailed(plan, seq, error);
    }
    if (traced) this.log.trace(`${this.name}: ${traced} done`);
  }

  /** What a call that failed while it ran rejects with (the communicator's first failure), after telling the peers where the failure is news. */
  private ranFailed(plan: CallPlan, seq: number, error: unknown): WebcclError {
    const failure = asWebcclError(error, 'InternalError', `${this.name}: ${formatSignature(plan.signature)} #${seq}`);
    // Only a failure nobody reported yet (this rank's own) is news to the peers.
    this.reportLocalFailure(failure);
    return this.health.error ?? failure;
  }

  private chunking(dtype: DataType, chunkBytes = this.config.chunkBytes): Pick<CollectiveContext, 'chunkElements' | 'alignElements' | 'pipelineDepth'> {
    const bytes = elementBytes(dtype);
    const alignElements = 16 / bytes;
    const chunkElements = Math.max(alignElements, Math.floor(chunkBytes / bytes / alignElements) * alignElements);
    return { chunkElements, alignElements, pipelineDepth: this.config.pipelineDepth };
  }

  /** Adopts the configuration every rank will use (rank 0's; see bootstrap.ts). */
  private async bootstrap(proposal: AgreedConfig, hello: Hello): Promise<void> {
    const link = new CallLink(this, { channel: this.channelIds.collective, seq: 0, signature: BOOTSTRAP_SIGNATURE, schedule: 'bootstrap' });
    try {
      this.agreed = await agreeOnConfig(link, this.rank, this.size, proposal, hello);
    } catch (error) {
      // Rank 0 found the hellos at odds (e.g. leaves named by some ranks only): every rank fails init with its reason.
      if (error instanceof WebcclError && error.code === 'InvalidArgument') this.reportUsageError(error);
      throw error;
    }
    // The switch job's name is random per rank: only rank 0's counts, and it differing is no news; nor are the host and leaf numbers, nor what 'auto' packet values became.
    const { switchJob, hosts, leaves, switchPacketValues, board, oneHost } = this.agreed;
    const auto = proposal.switchPacketValues === 'auto' ? { switchPacketValues } : {};
    if (JSON.stringify(this.agreed) !== JSON.stringify({ ...proposal, switchJob, ...auto, ...(hosts ? { hosts } : {}), ...(leaves ? { leaves } : {}), ...(board && { board }), ...(oneHost && { oneHost }) })) {
      this.initLog.info(`${this.name}: using rank 0's configuration ${JSON.stringify(this.agreed)} (this rank proposed ${JSON.stringify(proposal)})`);
    }
  }

  /** Best effort: tells every other rank, giving up on any that does not accept within the timeout. */
  private async notifyAll(notice: ControlNotice): Promise<void> {
    const sends = this.members
      .filter((_, peer) => peer !== this.rank)
      .map((member) => withDeadline(this.shared.sendControl(member, this.channelIds.collective, notice), this.health.timeoutMs));
    await Promise.allSettled(sends);
  }
}

/** Runs `start` now; what it throws becomes the returned promise's rejection. */
function startNow(start: () => Promise<void>): Promise<void> {
  try {
    return start();
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * What a call the short path finished at once returns: one settled promise shared by all of
 * them (a fresh one per call is garbage the scavenger collects; awaiting or chaining a settled
 * promise behaves the same whichever object it is).
 */
const SETTLED: Promise<void> = Promise.resolve();
