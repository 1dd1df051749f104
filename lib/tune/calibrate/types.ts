// What calibration works with: the communicator's and the device's side of it (CalibrationComm,
// GpuCalibration), what it returns, and the shapes its runs and samples take between the parts.
import type { SwitchExponents } from '../../collectives/switch-allreduce.js';
import type { BoardCollective, CodecRate, CostParams, HalfCollective, SlowLink, TimedCollective } from '../params.js';

/** What calibration needs of a communicator (the perf CLI adapts one). */
export interface CalibrationComm {
  readonly rank: number;
  readonly size: number;
  /** The agreed chunk size (bytes per pipelined message). */
  readonly chunkBytes: number;
  /** The agreed pipeline depth (undefined: the default). */
  readonly pipelineDepth?: number;
  /**
   * The agreed mesh threshold (TuningConfig.meshThresholdBytes; undefined or 0: none): 'auto' may
   * run the mesh allreduce for calls up to it from 3 ranks on, so its few-byte calls are timed
   * for a fixed part of its own (meshFewSamples).
   */
  readonly meshThresholdBytes?: number;
  /** The transport's single-copy threshold (Transport.referenceBytes; undefined: nothing goes by reference): what a message by reference costs is timed too. */
  readonly referenceBytes?: number;
  /** An in-place float32 sum allreduce of `data` with the named algorithm (cut at `chunkBytes`, where given: referenceProbe). */
  allReduce(data: Float32Array, algorithm: string, chunkBytes?: number): Promise<void>;
  /**
   * An in-place float32 broadcast of `data` from rank 0 with the named algorithm: the rooted
   * tree's and the ring's runs (plan.ts's rootedRuns). Absent: not timed, and rooted calls are priced on their
   * schedules' allreduce curves.
   */
  broadcast?(data: Float32Array, algorithm: string): Promise<void>;
  /** Element-wise maximum of every rank's `values` (the same result on every rank). */
  maxAll(values: Float32Array): Promise<Float32Array>;
  /**
   * The host copy an out-of-place allreduce makes of its send buffer into its receive buffer
   * (CpuMemory.copy's), timed for CostParams.copy (copyRate). Absent: not timed, and no copy is priced.
   */
  copy?(target: Float32Array, source: Float32Array): void;
  /** A switch is configured (agreed, so alike on every rank): its allreduce is timed too. */
  readonly aggregator?: boolean;
  /** Values per switch packet the job agreed (the switch's formula counts its packets; undefined: the formula's default). */
  readonly switchPacketValues?: number;
  /** Where the agreed configuration has float32 switch calls agree their exponents (the switch's formula counts the lead's packets in the stream; undefined: the link). */
  readonly switchExponents?: SwitchExponents;
  /** The communicator's GPU device, when it has one: GPU-memory figures are measured too. */
  readonly gpu?: GpuCalibration;
  /**
   * Every rank runs on this one host (the agreed configuration says so: a board, which every rank
   * maps, or one process): rank 0 alone times the host work, γ and the codecs (inTurn).
   */
  readonly oneHost?: boolean;
  /**
   * Every rank runs on one thread (inproc): the fit prices every rank's messages (CostParams.oneThread),
   * and the parameters say so.
   */
  readonly oneThread?: boolean;
  /** Every rank's transport offers a collective board (the agreed configuration's): its allreduce gets a curve of its own. */
  readonly board?: boolean;
  /**
   * A float32 sum call of `collective` on the board, `bytes` per rank as the model states the call
   * (lib/comm/tuning.ts runs it on the communicator), where there is a board: each gets a fixed
   * cost of its own (BoardCostParams.collectives). Absent: they are priced at the allreduce's.
   */
  boardCall?(collective: BoardCollective, bytes: number): Promise<void>;
  /**
   * A float32 sum call of a half of the allreduce (reduce-scatter, all-gather) with the named
   * schedule, `bytes` per rank as the model states the call (lib/comm/tuning.ts runs it on the
   * communicator): each gets a fixed part of its own (CostParams.halfOffsets). Absent: they are
   * priced on the allreduces' fit.
   */
  halfCall?(collective: HalfCollective, bytes: number, algorithm: string): Promise<void>;
  /**
   * Every rank's link figure in each pass of the probe of lib/tune/placement.ts (linkFigures), the
   * same lists on every rank. Absent: no probe, and the tree keeps its identity labels.
   */
  linkFigures?(): Promise<readonly (readonly number[])[]>;
  /** Places the world rank behind the slowest link at a root/leaf of the double binary tree for the calls that follow (undefined: the identity). */
  placeTree?(slowRank: number | undefined): void;
  /**
   * How much slower `slowRank`'s link is than the others', each way (placement.ts's
   * slowLinkRatios), the same on every rank. Absent: not measured, β is the slowest link's.
   */
  slowLinkRatios?(slowRank: number): Promise<SlowLink>;
  /** The ratios slowLinkRatios gave, which calibration sets once measured: its runs' link bytes are priced with them (termsOf). */
  readonly slowLink?: SlowLink;
}

/** What calibration needs of a device (lib/comm/tuning.ts adapts the communicator's). */
export interface GpuCalibration {
  /** Seconds one in-place float32 sum of `bytes` into another takes on the device, submission and wait included. */
  fold(bytes: number): Promise<number>;
  /** An in-place float32 sum allreduce of `bytes` held in a GPU buffer, with the named algorithm. */
  allReduce(bytes: number, algorithm: string): Promise<void>;
  /** Frees what the runs allocated on the device. */
  release(): void;
}

export interface CalibrationOptions {
  /** Timed repetitions of each allreduce (default 5; the median counts). */
  readonly repeats?: number;
}

export interface Calibration {
  /** The parameters every rank agreed on (the largest over ranks). */
  readonly params: CostParams;
  /** This rank's own figures, before the maximum. */
  readonly own: CostParams;
  /** Wall time the calibration took on this rank, in seconds. */
  readonly seconds: number;
  /**
   * Of which each host-memory phase, in seconds (host rates, warm-up, few-byte, mid and larger
   * runs), in the order run: where a calibration's time goes (issue 15's goal is under 10 s).
   */
  readonly phases: Record<string, number>;
  /** Of which the switch runs and the GPU-memory runs, where there were any. */
  readonly switchSeconds?: number;
  readonly gpuSeconds?: number;
}

/** One timed schedule: its traffic's terms (1, messages, sends, linkBytes) and the time it took (less its reductions' γ). */
export interface Sample {
  readonly terms: Terms;
  readonly seconds: number;
  /** The call's bytes per rank (runs of one size make one point of the β curve). */
  readonly bytes?: number;
  /** A run the β curve takes (the mid sizes' blocks, the runs past them), not only the one β. */
  readonly point?: boolean;
  /** The schedule timed (its runs that are points make its own curve too). */
  readonly algorithm?: string;
  /** A run only its schedule's own curve takes, not the fit nor the pooled curve (the direct exchange's mid sizes). */
  readonly ownOnly?: boolean;
  /** A few-byte run only its schedule's offset takes (fixedOffsetsOf), not the fit (the mesh's: meshFewSamples). */
  readonly offsetOnly?: boolean;
  /** Its figure is the lower quartile of its calls, not the median (the mid sizes' points; the few-byte runs' figures those subtract). */
  readonly lower?: boolean;
  /** The schedule's own messages on the busiest rank and their size (model.ts's PricedTraffic): those past the threshold go by reference. */
  readonly referenceSends?: number;
  readonly referenceBytes?: number;
  /** The ring at another chunk size (referenceProbe): only referenceCost takes it, not the fit nor any curve. */
  readonly probe?: boolean;
  /**
   * A rooted collective's run (rootedRuns), timed back to back: only its schedule's rooted curve
   * takes it (CostParams.rootedCurves); or a few-byte run of that collective or of a half of the
   * allreduce, for its own fixed part (rootedOffsets, halfOffsets). Absent: an allreduce's.
   */
  readonly collective?: TimedCollective;
}

export type Terms = readonly [number, number, number, number];

/** The unknowns in a Sample's term order: call, α, o, β. */
export type Fitted = [number, number, number, number];

/** A schedule at a size, one entry of a round. */
export interface Run {
  readonly algorithm: string;
  readonly bytes: number;
  /** The by-reference probe (referenceProbe): a sample of its own kind, cut at its own chunk size. */
  readonly probe?: boolean;
  readonly chunkBytes?: number;
  /** A point of its schedule's own curve only (ringReach): not the fit nor the pooled curve. */
  readonly ownOnly?: boolean;
  /** A rooted run's broadcast (rootedRuns) in place of an allreduce (CalibrationComm.broadcast). */
  readonly collective?: 'broadcast';
  /** Left out with the runs past four chunks where the larger runs' first calls are slow (largeSamples): the ring's rooted run. */
  readonly optional?: boolean;
}

/** A run's figure over its timed calls: their median, or their lower quartile (lowerQuartile). */
export type Figure = 'median' | 'lower';

/** A run whose time is what the fit needs as measured (γ subtracted later, once it is agreed). */
export interface Timed {
  readonly algorithm: string;
  readonly bytes: number;
  readonly seconds: number;
}

/** Everything one rank measured; every rank has the same shape (the same runs, in the same order). */
export interface Measured {
  readonly gamma: number;
  /** Seconds per byte of the out-of-place copy, every rank copying at once (copyRate; 0 in a world of one). */
  readonly copy: number;
  readonly codecs: Record<string, CodecRate>;
  readonly samples: readonly Sample[];
  /** The board's other collectives' few-byte seconds (boardCollectiveSeconds; empty without a board). */
  readonly boardCollectives: readonly number[];
  readonly switchRuns: readonly Timed[];
  readonly gpuGamma?: number;
  readonly gpuRuns: readonly Timed[];
}

/** The host figures the switch's and the GPU's terms are measured beyond. */
export interface HostFit {
  readonly call: number;
  readonly alpha: number;
  readonly overhead: number;
  readonly beta: number;
}
