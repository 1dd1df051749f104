// The algorithm registry: one row per schedule a call may run. Everything that names an
// algorithm reads it: settings and options are checked against the selectable rows, a message
// header carries the row's wire code, selection picks among the rows that serve a collective,
// plans run the row's function, and the perf CLI lists the names. A new algorithm is its own
// file plus one row here.
import { internalError, invalidArgument } from '../errors.js';
import type { CollectiveContext, Region } from './context.js';
import type { DataType, ReduceOp } from '../dtype.js';
import { switchRefusal } from './aggregator-allreduce.js';
import { switchAllReduce, switchAllReduceTraffic } from './switch-allreduce.js';
import { boardAllGather, boardAllGatherTraffic } from './board-allgather.js';
import { boardAllReduce, boardAllReduceTraffic } from './board-allreduce.js';
import { boardBroadcast, boardBroadcastTraffic } from './board-broadcast.js';
import { boardReduce } from './board-reduce.js';
import { boardReduceScatter, boardReduceScatterTraffic } from './board-reducescatter.js';
import { boardRefusal } from './board-run.js';
import { pairwiseAllToAll } from './alltoall-pairwise.js';
import { disseminationBarrier } from './barrier-dissemination.js';
import { directAllReduce, directAllReduceTraffic } from './direct-allreduce.js';
import { meshAllReduce, meshAllReduceTraffic } from './mesh-allreduce.js';
import { recvFrom, sendTo } from './point-to-point.js';
import { ringAllGather, ringAllGatherTraffic } from './ring-allgather.js';
import { ringAllReduce, ringAllReduceTraffic } from './ring-allreduce.js';
import { ringBroadcast, ringBroadcastTraffic } from './ring-broadcast.js';
import { ringReduce, ringReduceTraffic } from './ring-reduce.js';
import { ringReduceScatter, ringReduceScatterTraffic } from './ring-reducescatter.js';
import { treeAllReduce, treeAllReduceTraffic } from './tree-allreduce.js';
import { treeBroadcast, treeBroadcastTraffic } from './tree-broadcast.js';
import { treeReduce, treeReduceTraffic } from './tree-reduce.js';
import type { TrafficFormula } from './traffic.js';

/** The collectives a schedule may implement, with the arguments each is run with. */
export interface Schedules {
  /**
   * `work` holds this rank's elements and gets the result; a row with `readsInput` may instead be
   * given the send buffer as `input` (out of place, a named op), `work` then holding nothing yet.
   */
  allReduce(ctx: CollectiveContext, work: Region, input?: Region): Promise<void>;
  broadcast(ctx: CollectiveContext, work: Region, root: number): Promise<void>;
  reduce(ctx: CollectiveContext, work: Region, root: number): Promise<void>;
  allGather(ctx: CollectiveContext, work: Region, blockLength: number): Promise<void>;
  reduceScatter(ctx: CollectiveContext, work: Region, blockLength: number): Promise<void>;
  allToAll(ctx: CollectiveContext, source: Region, target: Region, blockLength: number): Promise<void>;
  barrier(ctx: CollectiveContext): Promise<void>;
  send(ctx: CollectiveContext, source: Region, peer: number): Promise<void>;
  recv(ctx: CollectiveContext, target: Region, peer: number): Promise<void>;
}

export type ScheduledCollective = keyof Schedules;

export interface AlgorithmRow {
  readonly name: string;
  /** Travels in every message header (see lib/comm/signature.ts): never renumber, only append. */
  readonly wireCode: number;
  /** Users may ask for it by name (WEBCCL_ALGO, init and call options, webccl-perf --algo). */
  readonly selectable: boolean;
  /**
   * Where its own messages do the communicator's agreement check (lib/comm/agreement.ts), which
   * would then only add one: where, on every rank, the schedule sends a message to its ring
   * successor and awaits one from its ring predecessor, in every call ('always'), or in every
   * call of the `nonEmpty` collectives that moves at least one element; absent elsewhere.
   */
  readonly checksNeighbours?: 'always' | { readonly nonEmpty: readonly ScheduledCollective[] };
  readonly serves: Partial<Schedules>;
  /**
   * It reduces through an aggregator: the provider of this name (lib/memory/aggregator.ts),
   * which the communicator joins and binds into the call's context. Such a row is chosen
   * under 'auto' only when the agreed configuration names an aggregator (a switch address).
   */
  readonly aggregator?: string;
  /**
   * It reduces through the transport's shared-memory board (lib/transport/board.ts), which the
   * communicator opens and binds into the call's context; it refuses worlds without one.
   */
  readonly board?: true;
  /**
   * 'auto' runs it only for calls up to the agreed meshThresholdBytes (from 3 ranks up), with a
   * tuning file too: there the model prices it against the others, never past the threshold.
   */
  readonly meshThreshold?: true;
  /**
   * Its allreduce reads an out-of-place call's send buffer where it is (Schedules.allReduce's
   * `input`), so the plan does not copy it into the receive buffer first: the board, whose native
   * copy-in takes each slice from the input (a whole-buffer copy ahead of it cost 4 shm ranks
   * 1.3-2.3x the in-place call's time at 4-64 MiB, big32).
   */
  readonly readsInput?: true;
  /** Why it cannot run a reduction of this signature (undefined: it can). */
  readonly refuses?: (call: ReductionCall) => string | undefined;
  /**
   * Its cost formula per collective (lib/collectives/traffic.ts), written beside each schedule;
   * lib/tune prices it with calibrated parameters. A collective without one is never chosen by
   * the cost model, only named.
   */
  readonly traffic?: Partial<Record<ScheduledCollective, TrafficFormula>>;
}

/** What a support check sees of a call: its signature and the rank count. */
export interface ReductionCall {
  readonly dtype: DataType;
  /** Absent: a collective that does not reduce (allGather, broadcast). */
  readonly op?: ReduceOp;
  readonly ranks: number;
  /**
   * The most workers one switch of the job has when not one per rank (switchHierarchy 'host':
   * one per host; two levels: the widest leaf's, or the root's one per leaf).
   */
  readonly aggregatorWorkers?: number;
  /** The communicator's transport offers a shared-memory board (its ranks share one host's memory). */
  readonly board?: boolean;
}

export const ALGORITHMS: readonly AlgorithmRow[] = [
  // The communicator's own init-time exchange of the agreed configuration (lib/comm/bootstrap.ts).
  { name: 'bootstrap', wireCode: 1, selectable: false, serves: {} },
  {
    // Every chunk pipeline of runRing (ring-steps.ts) starts with a send to the next rank and then
    // awaits the previous one's, and a call with elements runs at least one. The chain broadcast's
    // root and the chain reduce's first rank await nothing.
    name: 'ring', wireCode: 2, selectable: true, checksNeighbours: { nonEmpty: ['allReduce', 'reduceScatter', 'allGather'] },
    serves: { allReduce: ringAllReduce, broadcast: ringBroadcast, reduce: ringReduce, allGather: ringAllGather, reduceScatter: ringReduceScatter },
    traffic: { allReduce: ringAllReduceTraffic, broadcast: ringBroadcastTraffic, reduce: ringReduceTraffic, allGather: ringAllGatherTraffic, reduceScatter: ringReduceScatterTraffic },
  },
  {
    name: 'tree', wireCode: 3, selectable: true, serves: { allReduce: treeAllReduce, broadcast: treeBroadcast, reduce: treeReduce },
    traffic: { allReduce: treeAllReduceTraffic, broadcast: treeBroadcastTraffic, reduce: treeReduceTraffic },
  },
  // Step 1 of both (the first pipeline, the first round) sends to the next rank and awaits the previous one.
  { name: 'pairwise', wireCode: 4, selectable: false, checksNeighbours: { nonEmpty: ['allToAll'] }, serves: { allToAll: pairwiseAllToAll } },
  { name: 'p2p', wireCode: 5, selectable: false, serves: { send: sendTo, recv: recvFrom } },
  { name: 'dissemination', wireCode: 6, selectable: false, checksNeighbours: 'always', serves: { barrier: (ctx) => disseminationBarrier(ctx.link, ctx.rank, ctx.size) } },
  // For the smallest allreduces: 'auto' picks it by size or by the cost model (lib/tune); selectable
  // so that calibration and benchmarks can time it (other collectives named 'direct' run 'auto's choice).
  // It sends to and awaits every other rank, its ring neighbours among them.
  { name: 'direct', wireCode: 7, selectable: true, checksNeighbours: 'always', serves: { allReduce: directAllReduce }, traffic: { allReduce: directAllReduceTraffic } },
  // In-network aggregation through a SwitchML switch (lib/switch); needs a switch address.
  {
    name: 'switch', wireCode: 8, selectable: true, serves: { allReduce: switchAllReduce }, aggregator: 'switch', refuses: switchRefusal,
    traffic: { allReduce: switchAllReduceTraffic },
  },
  // Ranks on one host (the shm world): run in native code out of one shared segment, no
  // message (lib/collectives/board-*.ts). Every rank's call stamp is compared on the board at
  // each arrival, so ranks running different calls fail there; an empty call arrives nowhere
  // and gets the communicator's check.
  {
    name: 'board', wireCode: 9, selectable: true, checksNeighbours: { nonEmpty: ['allReduce', 'reduce', 'reduceScatter', 'allGather', 'broadcast'] },
    serves: { allReduce: boardAllReduce, reduce: boardReduce, reduceScatter: boardReduceScatter, allGather: boardAllGather, broadcast: boardBroadcast }, board: true, readsInput: true,
    refuses: boardRefusal,
    traffic: { allReduce: boardAllReduceTraffic, reduce: boardAllReduceTraffic, reduceScatter: boardReduceScatterTraffic, allGather: boardAllGatherTraffic, broadcast: boardBroadcastTraffic },
  },
  // Reduce-scatter and all-gather in one hop each over every pair of ranks (mesh-allreduce.ts):
  // the ring's bytes in two hops instead of 2(n-1). Every rank sends to and awaits every other.
  // 'auto' picks it from 3 ranks up for calls up to meshThresholdBytes (ntcp's: 1 MiB on one
  // host, 4 MiB across hosts; others': 0, never). With a tuning file the model prices it
  // (meshAllReduceTraffic) against the others, but only under that threshold, its fixed part
  // from calibration's few-byte runs of it (meshfew48), its bytes on the ring's and tree's curve:
  // on tcp and shm, priced from the others' α and o, it was picked at 128-512 KiB where it
  // measured no faster than the tree (PERFORMANCE.md, meshf22).
  {
    name: 'mesh', wireCode: 10, selectable: true, checksNeighbours: 'always', serves: { allReduce: meshAllReduce }, meshThreshold: true,
    traffic: { allReduce: meshAllReduceTraffic },
  },
];

/** Whether a row reduces the call's own elements elsewhere (a switch, the board), so that no hop codec can apply. */
export function reducesElsewhere(row: AlgorithmRow | undefined): boolean {
  return row?.aggregator !== undefined || row?.board === true;
}

/** What a user may name: every selectable row, and 'auto' (lib/tune decides per call). */
export const ALGORITHM_CHOICES: readonly string[] = [...ALGORITHMS.filter((row) => row.selectable).map((row) => row.name), 'auto'];

export function algorithmNamed(name: string): AlgorithmRow | undefined {
  return ALGORITHMS.find((row) => row.name === name);
}

export function algorithmWithCode(code: number): AlgorithmRow | undefined {
  return ALGORITHMS.find((row) => row.wireCode === code);
}

/**
 * Whether a call of `collective` (a signature's kind) that `algorithm` runs on `ranks` ranks
 * needs the communicator's agreement check beside it (lib/comm/agreement.ts): not where its own
 * messages do the check (AlgorithmRow.checksNeighbours), nor in a world of one. `empty`: the
 * call moves no elements.
 */
export function needsAgreementCheck(algorithm: string, collective: string, empty: boolean, ranks: number): boolean {
  if (ranks < 2) return false;
  const own = algorithmNamed(algorithm)?.checksNeighbours;
  if (own === undefined) return true;
  return own !== 'always' && (empty || !own.nonEmpty.some((served) => served === collective));
}

/** Checks a user's choice; `what` starts the error message (e.g. 'WEBCCL_ALGO', 'allReduce on rank 0 of 2'). */
export function checkAlgorithmChoice(what: string, choice: unknown): asserts choice is string {
  if (typeof choice !== 'string' || !ALGORITHM_CHOICES.includes(choice)) {
    throw invalidArgument(`${what}: algorithm ${JSON.stringify(choice)} is not one of ${ALGORITHM_CHOICES.join(', ')}`);
  }
}

/** The rows that implement a collective, in registry order. */
export function algorithmsServing(collective: ScheduledCollective): readonly AlgorithmRow[] {
  return ALGORITHMS.filter((row) => row.serves[collective] !== undefined);
}

/** The function of `name` for `collective`. */
export function scheduleOf<K extends ScheduledCollective>(name: string, collective: K): Schedules[K] {
  const run = algorithmNamed(name)?.serves[collective];
  if (run === undefined) throw internalError(`the ${name} algorithm does not implement ${collective}`);
  return run as Schedules[K];
}
