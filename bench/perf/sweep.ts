// One rank's part of a webccl-perf run: for every type, op and size, check the collective once
// (-c 1), warm up, then time -n back-to-back calls, out of place and in place. Every rank runs
// this same loop; the ranks' times and wrong counts are then shared so that every rank holds
// the same rows (only rank 0 prints them).
import type { DataType } from '../../lib/dtype.js';
import type { PerfOptions } from './args.js';
import { busBandwidth, algorithmBandwidth } from './bandwidth.js';
import { callInTurn } from './calls.js';
import { combineTimes } from './combine.js';
import { checkOutput } from './check.js';
import { sendInput, type CallShape } from './expected.js';
import { bufferLayout } from './layout.js';
import { callUntil, JIT_WARMUP_MS, NO_WARMUP, type JitWarmup } from './jit-warmup.js';
import { hasRoot, ncclTypeName, reduces, type PerfOp } from './names.js';
import { createPlacement, rowData, type PlacementKind, type RowData, type StoreFactory } from './placement.js';
import type { CompressionFigures, Measurement, ResultRow } from './results.js';
import { formatBytes, sweepSizes } from './sizes.js';
import type { Operand } from './store.js';
import { callsFilling, raceInTurns, type VersusTime } from './versus.js';
import type { PredictedCall } from './prediction.js';

/** What the sweep needs from a communicator (adapted from lib/comm by the CLI). */
export interface PerfComm {
  readonly rank: number;
  readonly size: number;
  /** Runs the benchmarked collective once (with `algorithm`: that one, else the communicator's --algo). */
  run(shape: CallShape, send: Operand, recv: Operand, algorithm?: string): Promise<void>;
  /** Every rank's `values`, concatenated in rank order. */
  allGather(values: Float32Array): Promise<Float32Array>;
  allGather(values: Uint32Array): Promise<Uint32Array>;
  barrier(): Promise<void>;
  /** Payload bytes this rank has handed to its transport so far (for the wire column). */
  bytesSent(): number;
  /** The algorithm the communicator runs for `shape` and the cost model's microseconds per call of it (undefined: no choice). */
  predict?(shape: CallShape): PredictedCall | undefined;
  /** --tune: Communicator.tune() (the shapes run under 'auto' since its last call, timed with the model's nearest candidates). */
  tune?(): Promise<void>;
}

export interface SweepHooks {
  readonly onRow?: (row: ResultRow) => void;
  readonly onProgress?: (done: number, total: number, label: string) => void;
  /** After the JIT warm-up (jit-warmup.ts), before the first measurement. */
  readonly onJitWarmup?: (warmup: JitWarmup) => void;
}

const PLACEMENTS: readonly PlacementKind[] = ['out-of-place', 'in-place'];

interface RankMeasurement {
  readonly timeUs: number;
  /** undefined when not checked. */
  readonly wrong: number | undefined;
  /** With options.compressionColumns. */
  readonly compression?: CompressionFigures;
  /** --versus (out of place): each named algorithm's median turn, in options.versus' order. */
  readonly versusUs?: readonly number[];
}

async function measure(comm: PerfComm, options: PerfOptions, shape: CallShape, kind: PlacementKind, makeStore: StoreFactory, data: RowData): Promise<RankMeasurement> {
  const placement = createPlacement(kind, shape.collective, shape.dtype, shape.layout, comm.rank, makeStore);
  try {
    // Read once: each timed call reads only what it captured, not the placement object.
    const { send, recv } = placement;
    const call = () => comm.run(shape, send, recv);
    // --versus races the out-of-place calls only; the in-place column is timed as nccl-tests times it.
    const rivals = kind === 'out-of-place' ? options.versus.map((algorithm) => () => comm.run(shape, send, recv, algorithm)) : [];
    await placement.prepare(data);
    let wrong: number | undefined;
    let relError: number | undefined;
    if (options.check || options.compressionColumns) {
      // Each rival is checked too, its wrong elements counted in this column's: a race of wrong results is no race.
      for (const checked of [call, ...rivals]) {
        await checked();
        const result = await checkOutput(shape, comm.rank, placement, options.compressionColumns);
        if (options.check) wrong = (wrong ?? 0) + result.wrong;
        // The inputs are quarters summed exactly in float32 (data.ts): expected is the exact result.
        if (options.compressionColumns) relError = Math.max(relError ?? 0, result.maxRelError);
        await placement.prepare(data);
      }
    }
    const warm = async (run: () => Promise<void>) => {
      await callInTurn(run, options.warmup);
      if (options.warmupMs > 0) await callUntil(comm, Infinity, options.warmupMs, async (n) => { await callInTurn(run, n); return n; });
    };
    await warm(call);
    if (options.tune && comm.tune) {
      // After the warm-up, so that the candidates are timed as settled as the calls that follow;
      // then warmed again, as its calls of other schedules unsettle the next ones (fresh29).
      await comm.tune();
      await warm(call);
    }
    const compression = (wireBytes: number) => (relError === undefined ? {} : { compression: { wireBytes, maxRelError: relError } });
    if (rivals.length > 0) {
      for (const rival of rivals) await warm(rival);
      const contenders = [call, ...rivals];
      const turnCalls = options.turnMs > 0 ? await callsFilling(comm, contenders, options.turnMs) : contenders.map(() => options.iters);
      const race = await raceInTurns(contenders, options.rounds, turnCalls, comm);
      return { timeUs: race.medianUs[0]!, wrong, versusUs: race.medianUs.slice(1), ...compression(race.firstBytesPerCall) };
    }
    // Start together, so that no rank's time includes waiting for a late peer to arrive.
    await comm.barrier();
    const sentBefore = comm.bytesSent();
    const started = performance.now();
    await callInTurn(call, options.iters);
    const timeUs = ((performance.now() - started) * 1000) / options.iters;
    return { timeUs, wrong, ...compression(options.iters > 0 ? Math.round((comm.bytesSent() - sentBefore) / options.iters) : 0) };
  } finally {
    placement.destroy();
  }
}

/** The rank's input and poison for `shape`, made once for all its measurements. */
function shapeData(comm: PerfComm, shape: CallShape): RowData {
  return rowData(shape.dtype, sendInput(shape, comm.rank));
}

/** Both placements of one shape, measured, and combined over the ranks. */
async function measureRow(comm: PerfComm, options: PerfOptions, shape: CallShape, makeStore: StoreFactory, data = shapeData(comm, shape)): Promise<{ mine: RankMeasurement[]; combined: Measurement[]; versus?: VersusTime[] }> {
  const mine: RankMeasurement[] = [];
  for (const kind of PLACEMENTS) mine.push(await measure(comm, options, shape, kind, makeStore, data));
  const { measurements, versus } = await combineRanks(comm, options, shape, mine);
  return { mine, combined: measurements, ...(versus && { versus }) };
}

/** The JIT warm-up (jit-warmup.ts): untimed rows of `shape`, unchecked, of growing iteration counts. */
function warmUpJit(comm: PerfComm, options: PerfOptions, shape: CallShape, makeStore: StoreFactory): Promise<JitWarmup> {
  if (options.jitWarmup === 0) return Promise.resolve(NO_WARMUP);
  const untimed = { ...options, check: false, compressionColumns: false, warmup: 0, warmupMs: 0, tune: false, versus: [] };
  const data = shapeData(comm, shape);
  return callUntil(comm, options.jitWarmup, JIT_WARMUP_MS, async (n) => {
    const iters = Math.ceil(n / PLACEMENTS.length);
    await measureRow(comm, { ...untimed, iters }, shape, makeStore, data);
    return iters * PLACEMENTS.length;
  });
}

/** Every figure a rank timed for a row: each placement's time, then the --versus medians. */
function timesOf(mine: readonly RankMeasurement[]): number[] {
  return mine.flatMap((m) => [m.timeUs, ...(m.versusUs ?? [])]);
}

/** Shares every rank's times and wrong counts; each rank gets the same combined measurements. */
async function combineRanks(comm: PerfComm, options: PerfOptions, shape: CallShape, mine: readonly RankMeasurement[]): Promise<{ measurements: Measurement[]; versus?: VersusTime[] }> {
  const width = timesOf(mine).length;
  const times = await comm.allGather(Float32Array.from(timesOf(mine)));
  const wrongs = await comm.allGather(Uint32Array.from(mine, (m) => m.wrong ?? 0));
  const perRank = (values: Float32Array | Uint32Array, stride: number, column: number) => Array.from({ length: comm.size }, (_, r) => values[r * stride + column]!);
  const timeAt = (column: number) => combineTimes(perRank(times, width, column), options.average);
  // Where each placement's figures start in a rank's row of `times`.
  const starts = mine.map((_, placement) => timesOf(mine.slice(0, placement)).length);
  const measurements = mine.map((_, placement) => {
    const timeUs = timeAt(starts[placement]!);
    return {
      timeUs,
      algbw: algorithmBandwidth(shape.layout.bytes, timeUs),
      busbw: busBandwidth(shape.collective, comm.size, shape.layout.bytes, timeUs),
      wrong: options.check ? perRank(wrongs, mine.length, placement).reduce((a, b) => a + b, 0) : undefined,
    };
  });
  const raced = mine.findIndex((m) => m.versusUs !== undefined);
  const versus = raced < 0 ? undefined : mine[raced]!.versusUs!.map((_, i) => ({ algorithm: options.versus[i]!, timeUs: timeAt(starts[raced]! + 1 + i) }));
  return { measurements, ...(versus && { versus }) };
}

/** The wire column is the most any rank sent per call; the error column the worst over ranks and placements. */
async function combineCompression(comm: PerfComm, mine: readonly RankMeasurement[]): Promise<CompressionFigures> {
  const wire = await comm.allGather(Uint32Array.from(mine, (m) => m.compression!.wireBytes));
  const errors = await comm.allGather(Float32Array.from(mine, (m) => m.compression!.maxRelError));
  return { wireBytes: Math.max(...wire), maxRelError: Math.max(...errors) };
}

function predicted(comm: PerfComm, shape: CallShape): Pick<ResultRow, 'predictedUs' | 'runs'> {
  const call = comm.predict?.(shape);
  return { ...(call?.us !== undefined && { predictedUs: call.us }), ...(call && { runs: call.algorithm }) };
}

export async function runSweep(comm: PerfComm, options: PerfOptions, makeStore: (dtype: DataType) => StoreFactory, hooks: SweepHooks = {}): Promise<ResultRow[]> {
  const sizes = sweepSizes(options);
  // Collectives that do not reduce run once per type, not once per op.
  const ops: readonly PerfOp[] = reduces(options.collective) ? options.ops : options.ops.slice(0, 1);
  const root = hasRoot(options.collective) ? options.root : -1;
  if (root >= comm.size) throw new Error(`-r ${root} is not a rank of this ${comm.size}-rank run`);
  const total = options.dtypes.length * ops.length * sizes.length;
  const shapeOf = (dtype: DataType, op: PerfOp, bytes: number): CallShape => ({
    collective: options.collective, dtype, op, root: Math.max(root, 0), ranks: comm.size,
    layout: bufferLayout(options.collective, bytes, dtype, comm.size),
  });
  // The first size whose call moves an element (a zero-count call may not run the path at all).
  const [firstType, firstOp] = [options.dtypes[0], ops[0]];
  const firstBytes = firstType === undefined ? undefined : sizes.find((bytes) => shapeOf(firstType, 'sum', bytes).layout.callCount > 0);
  if (firstType !== undefined && firstOp !== undefined && firstBytes !== undefined) {
    hooks.onProgress?.(0, total, 'JIT warm-up');
    // Not inside `hooks.onJitWarmup?.(...)`: an optional call skips its arguments where there is no hook.
    const warmup = await warmUpJit(comm, options, shapeOf(firstType, firstOp, firstBytes), makeStore(firstType));
    hooks.onJitWarmup?.(warmup);
  }
  const rows: ResultRow[] = [];
  for (const dtype of options.dtypes) {
    for (const op of ops) {
      for (const bytes of sizes) {
        hooks.onProgress?.(rows.length, total, `${ncclTypeName(dtype)} ${formatBytes(bytes)}`);
        const shape = shapeOf(dtype, op, bytes);
        const { mine, combined: [outOfPlace, inPlace], versus } = await measureRow(comm, options, shape, makeStore(dtype));
        const compression = options.compressionColumns ? await combineCompression(comm, mine) : undefined;
        const row: ResultRow = {
          bytes: shape.layout.bytes, count: shape.layout.callCount, type: ncclTypeName(dtype),
          redop: reduces(options.collective) ? op : 'none', root, outOfPlace: outOfPlace!, inPlace: inPlace!,
          ...(compression ? { compression } : {}),
          ...(versus && { versus }),
          ...predicted(comm, shape),
        };
        rows.push(row);
        hooks.onRow?.(row);
      }
    }
  }
  hooks.onProgress?.(total, total, 'done');
  return rows;
}
