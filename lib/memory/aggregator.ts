// A place outside the ranks that reduces what every rank sends and returns the total: NCCL's
// CollNet, SwitchML's programmable switch. A schedule over it (lib/collectives/aggregator-allreduce.ts)
// sends each chunk once and receives the total once, instead of the ring's 2(n-1) steps.
// Providers (the switch worker of lib/switch: UDP in Node, the WebSocket door anywhere) register here, as world providers do
// in lib/transport/world.ts, so that the communicator (lib/comm, platform-neutral) can join a
// job without importing anything that needs Node.
import type { DataType, ReduceOp } from '../dtype.js';
import { invalidArgument } from '../errors.js';

/**
 * How an aggregator combines contributions. avg and premulSum arrive as sum: ranks premultiply
 * their own input before, and divide (finalize) after.
 */
export type AggregateOp = 'sum' | 'prod' | 'min' | 'max';

export interface Aggregator {
  /**
   * Contributes this rank's `count` elements (`payload`, as the call's memory encodes them) to
   * slot `slot` of the current call, and resolves with the total over every rank, in the same
   * encoding. Every rank contributes to every slot once per call; slots of one call are
   * independent (pipelined chunks), and totals must not depend on the order ranks arrive in.
   * `payload` is handed over: the aggregator may write the total over it and return it.
   */
  allReduce(slot: number, payload: Uint8Array, count: number, dtype: DataType, op: AggregateOp): Promise<Uint8Array>;
  /**
   * Optional (a switch, whose packets carry int32): the float32 sum over every rank of this
   * rank's `values` (host memory), written into `out` (`values` itself, or an array of their
   * length that does not overlap them). Each block of `blockSize` elements is
   * quantized with its exponent in `exponents` (agreed by every rank before the call) for
   * `workers` ranks, summed as int32 and dequantized with the same exponent: the integer
   * scheme's quantize, int32 allReduce and dequantize (lib/comm/integer-allreduce.ts) bit for
   * bit, but packet by packet, with no int32 copy of the call. Slots as allReduce's.
   */
  allReduceQuantized?(slot: number, values: Float32Array, exponents: Int32Array, blockSize: number, workers: number, out: Float32Array): Promise<void>;
  /**
   * Where each allReduce call travels as one stream of packets (a switch): the values a packet
   * carries and the packets kept in flight (the window). Each call fills and drains its window,
   * and a float32 call sends up to a window of exponent-only packets more (SwitchML agrees
   * exponents one window ahead), so a schedule makes few, large calls.
   */
  readonly packets?: AggregatorPackets;
}

export interface AggregatorPackets {
  readonly values: number;
  readonly window: number;
}

/** What a call over an aggregator is given (the communicator binds it per call). */
export interface Aggregation {
  readonly aggregator: Aggregator;
  readonly dtype: DataType;
  readonly op: ReduceOp;
}

/** One communicator's membership of a job on an aggregator. */
export interface AggregatorJob {
  /** Where the aggregator is, e.g. 'host:port' of a switch. */
  readonly address: string;
  /** What the aggregator wants to see before it admits a worker. */
  readonly secret: string;
  /** This rank's path to it, where the address offers several (a switch's 'udp' or 'websocket'); the provider's default when absent. */
  readonly via?: 'udp' | 'websocket';
  /** The job's name: the same on every rank of the communicator, unique among running jobs. */
  readonly job: string;
  readonly rank: number;
  readonly size: number;
  /**
   * Two levels (`address` a leaf aggregator below a root): `rank`/`size` count the job's ranks at
   * this leaf, `total` is the job's ranks over every leaf, `uplink` the leaf's place at the root.
   */
  readonly total?: number;
  readonly uplink?: { readonly rank: number; readonly size: number };
  /** Values one packet carries, where the aggregator takes them in packets (a switch); the same on every rank. */
  readonly packetValues?: number;
  readonly timeoutMs: number;
}

export interface AggregatorSession {
  /** An aggregator for one call, whose slots count from 0. Calls are made one after another. */
  forCall(): Aggregator;
  /** Leaves the job (the aggregator tells the other ranks); a call in flight rejects. */
  close(): void;
}

export interface AggregatorProvider {
  /** The algorithm that uses it, e.g. 'switch'. */
  readonly name: string;
  /** Joins the job; resolves once every rank has joined (the aggregator starts the job then). */
  join(job: AggregatorJob): Promise<AggregatorSession>;
}

const providers = new Map<string, AggregatorProvider>();

/** Adds (or replaces) the provider of an aggregator kind (the Node entry registers 'switch'). */
export function registerAggregatorProvider(provider: AggregatorProvider): void {
  providers.set(provider.name, provider);
}

/** The provider of `name`; InvalidArgument when this build has none (e.g. 'switch' in a browser). */
export function aggregatorProvider(name: string): AggregatorProvider {
  const provider = providers.get(name);
  if (!provider) throw invalidArgument(`no ${name} aggregator in this build (import webccl's Node or browser entry, which register the switch's)`);
  return provider;
}
