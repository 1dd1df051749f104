// The machine-readable form of one webccl-perf run (-J/--json), in nccl-tests' JSON layout
// (its src/util.cu, JSON_FILE_VERSION 3): the same keys, nesting and value kinds, so that tools
// written for nccl-tests' -J output read ours. Where nccl-tests writes a boolean it writes the
// string "true"/"false", and the root as its "%6i" text: kept as it does. webccl's own facts
// (transport, algorithm, ...) sit under one extra key, "webccl".
import type { PerfOptions } from './args.js';
import { deviceLines, type RankDevice } from './devices.js';
import { averageBusBandwidth, totalWrong, type Measurement, type ResultRow } from './results.js';
import type { JitWarmup } from './jit-warmup.js';

/** What the header states: how the run was set up, as resolved (not as requested). */
export interface RunFacts {
  readonly ranks: number;
  readonly transport: string;
  readonly algorithm: string;
  readonly mem: 'gpu' | 'cpu';
  readonly device: string;
  readonly bufferutil: boolean;
  /** Where the predicted column's parameters come from: calibrated (a tuning file's) or the defaults. */
  readonly prediction: string;
}

/** The run as started: argv and the start time, which nccl-tests records first. */
export interface RunStart {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly startTime: Date;
}

type JsonBool = 'true' | 'false';

export interface NcclTestsMeasurement {
  readonly time: number;
  readonly alg_bw: number;
  readonly bus_bw: number;
  readonly nwrong: number | null;
}

export interface NcclTestsResult {
  readonly size: number;
  readonly count: number;
  readonly type: string;
  readonly redop: string;
  readonly root: string;
  readonly out_of_place: NcclTestsMeasurement;
  readonly in_place: NcclTestsMeasurement;
  readonly actual_iterations: number;
  readonly experiment_name: string;
  /** webccl's additions with -Z (the table's wire and maxrelerr columns). */
  readonly wire_bytes?: number;
  readonly max_rel_error?: number;
  /** With --versus: each named algorithm's out-of-place microseconds per call (the table's extra columns). */
  readonly versus_times?: Readonly<Record<string, number>>;
}

export interface NcclTestsDevice {
  readonly rank: number;
  readonly group: number;
  readonly pid: number;
  readonly hostname: string;
  readonly device: number;
  readonly device_hex: string;
  readonly device_info: string;
}

export interface PerfReport {
  readonly version: 3;
  readonly start_time: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  /** Not NCCL: null (webccl's version is under webccl.version). */
  readonly nccl_version: null;
  readonly config: {
    readonly nthreads: number;
    readonly ngpus: number;
    readonly minimum_bytes: number;
    readonly maximum_bytes: number;
    readonly step_factor?: number;
    readonly step_bytes?: number;
    readonly warmup_iters: number;
    readonly iterations: number;
    readonly aggregated_iterations: number;
    readonly validation: number;
    readonly graph: number;
    readonly blocking_collectives: JsonBool;
    readonly per_iter_timing: JsonBool;
    readonly per_iter_skip: number;
    readonly parallel_init: JsonBool;
    readonly devices: readonly NcclTestsDevice[];
  };
  readonly results: readonly NcclTestsResult[];
  readonly out_of_bounds: { readonly count: number; readonly okay: JsonBool };
  readonly average_bus_bandwidth: { readonly bandwidth: number; readonly okay: 'unchecked' };
  readonly errors: readonly string[];
  readonly end_time: string;
  readonly webccl: RunFacts & {
    readonly version: string; readonly collective: string; readonly average: number; readonly compression: string;
    /** The cost model's time per call in microseconds, one per result (null: no formula): the table's predicted column. */
    readonly predicted_times: (number | null)[];
    /** The algorithm each result's calls ran (auto's choice, or --algo's; null: the collective has none to choose). */
    readonly algorithms_run: (string | null)[];
    /** The untimed calls before the sweep (--jit-warmup): how many each rank made, and the slowest rank's seconds. */
    readonly jit_warmup: { readonly calls: number; readonly seconds: number };
    /** --warmup-ms: each size's warm-up goes on until this long has passed (0: -w calls alone). */
    readonly warmup_ms: number;
    /** --tune: each size's auto shape was timed with the model's nearest candidates before its timed calls. */
    readonly tune: boolean;
    /** --versus: the algorithms raced with the out-of-place column, and the rounds of turns each size had. */
    readonly versus?: { readonly algorithms: readonly string[]; readonly rounds: number; readonly turn_ms: number };
  };
}

/** nccl-tests' strftime format, "%Y-%m-%d %H:%M:%S" in local time. */
export function formatTimestamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/**
 * nccl-tests records the whole environment; webccl records only the variables that shape a run
 * (WEBCCL_*, the launchers' rank variables), and never the shared secret.
 */
export function runEnvironment(env: Readonly<Record<string, string | undefined>>): string[] {
  const shapes = /^(WEBCCL_|RANK$|WORLD_SIZE$|LOCAL_RANK$|MASTER_ADDR$|MASTER_PORT$|OMPI_COMM_WORLD_|PMI_|PMIX_|SLURM_(PROCID|NTASKS|LOCALID)$)/;
  return Object.entries(env)
    .filter(([name, value]) => value !== undefined && shapes.test(name) && !/SECRET|TOKEN|KEY|PASSWORD/i.test(name))
    .map(([name, value]) => `${name}=${value}`)
    .sort();
}

function measurement(m: Measurement): NcclTestsMeasurement {
  return { time: m.timeUs, alg_bw: m.algbw, bus_bw: m.busbw, nwrong: m.wrong === undefined ? null : m.wrong };
}

function result(row: ResultRow, iters: number): NcclTestsResult {
  return {
    size: row.bytes, count: row.count, type: row.type, redop: row.redop, root: String(row.root).padStart(6),
    out_of_place: measurement(row.outOfPlace), in_place: measurement(row.inPlace), actual_iterations: iters, experiment_name: '',
    ...(row.compression ? { wire_bytes: row.compression.wireBytes, max_rel_error: row.compression.maxRelError } : {}),
    ...(row.versus ? { versus_times: Object.fromEntries(row.versus.map((v) => [v.algorithm, v.timeUs])) } : {}),
  };
}

function device(d: RankDevice): NcclTestsDevice {
  return { rank: d.rank, group: 0, pid: d.pid, hostname: d.hostname, device: 0, device_hex: d.memory, device_info: d.device };
}

export function buildReport(
  options: PerfOptions, facts: RunFacts, devices: readonly RankDevice[], start: RunStart, rows: readonly ResultRow[], version: string,
  warmup: JitWarmup = { calls: 0, ms: 0 },
): PerfReport {
  const wrong = options.check ? totalWrong(rows) : 0;
  return {
    version: 3, start_time: formatTimestamp(start.startTime), args: start.args, env: runEnvironment(start.env), nccl_version: null,
    config: {
      // One rank (thread) per process unless --transport inproc runs them all here.
      nthreads: 1, ngpus: devices.filter((d) => d.pid === devices[0]?.pid).length,
      minimum_bytes: options.minBytes, maximum_bytes: options.maxBytes,
      ...(options.stepFactor > 1 ? { step_factor: options.stepFactor } : { step_bytes: options.stepBytes }),
      warmup_iters: options.warmup, iterations: options.iters, aggregated_iterations: 1, validation: options.check ? 1 : 0,
      graph: 0, blocking_collectives: 'false', per_iter_timing: 'false', per_iter_skip: 0, parallel_init: 'false',
      devices: devices.map(device),
    },
    results: rows.map((row) => result(row, options.iters)),
    out_of_bounds: { count: wrong, okay: wrong === 0 ? 'true' : 'false' },
    average_bus_bandwidth: { bandwidth: averageBusBandwidth(rows), okay: 'unchecked' },
    errors: [],
    end_time: formatTimestamp(new Date()),
    webccl: { ...facts, version, collective: options.collective, average: options.average, compression: options.compression, predicted_times: rows.map((row) => row.predictedUs ?? null), algorithms_run: rows.map((row) => row.runs ?? null),
      jit_warmup: { calls: warmup.calls, seconds: warmup.ms / 1000 }, warmup_ms: options.warmupMs, tune: options.tune,
      ...(options.versus.length > 0 && { versus: { algorithms: options.versus, rounds: options.rounds, turn_ms: options.turnMs } }),
    },
  };
}

/** The line under the table that says what the JIT warm-up did (the header says what was asked). */
export function jitWarmupLine(warmup: JitWarmup): string {
  return `# JIT warm-up: ${warmup.calls} calls in ${(warmup.ms / 1000).toFixed(2)} s`;
}

/** The header lines above the table (nccl-tests' "# nThread ..." line, webccl's facts, then "# Using devices"). */
export function headerLines(options: PerfOptions, facts: RunFacts, devices: readonly RankDevice[]): string[] {
  const step = options.stepFactor > 1 ? `${options.stepFactor}(factor)` : `${options.stepBytes}(bytes)`;
  const compression = options.compression === 'none' ? [] : [
    `# compression: ${options.compression} (float32 sum/avg allreduce; algbw and busbw from the uncompressed bytes${options.check ? '' : '; lossy, so no validation'})`,
  ];
  return [
    `# webccl-perf ${options.collective}: minBytes ${options.minBytes} maxBytes ${options.maxBytes} step: ${step} warmup iters: ${options.warmup} iters: ${options.iters} validation: ${options.check ? 1 : 0} average: ${options.average}`,
    `# ranks: ${facts.ranks}  transport: ${facts.transport}  algorithm: ${facts.algorithm}  memory: ${facts.mem}  device: ${facts.device}  bufferutil: ${facts.bufferutil ? 'loaded' : 'not loaded'}`,
    `# predicted: cost model with ${facts.prediction}`,
    `# JIT warm-up: ${options.jitWarmup === 0 ? 'none' : `up to ${options.jitWarmup} untimed calls of the first size before the sweep`} (--jit-warmup)`,
    ...(options.warmupMs > 0 ? [`# each size and placement: ${options.warmup} warm-up calls, then more until ${options.warmupMs} ms have passed on every rank (--warmup-ms)`] : []),
    ...(options.versus.length > 0 ? [`# versus: out of place, ${facts.algorithm} and ${options.versus.join(', ')} timed in turns on these ranks, ${options.rounds} rounds of one untimed and ${options.turnMs > 0 ? `as many timed calls as fill ${options.turnMs} ms` : `${options.iters} timed calls`} each, the order balanced over the rounds; each time is its median round's (--versus)`] : []),
    ...(options.tune ? ['# tune: after each size\'s warm-up, auto\'s call timed with the cost model\'s nearest candidates, the fastest kept (--tune: Communicator.tune)'] : []),
    ...compression,
    '#',
    ...deviceLines(devices),
  ];
}
