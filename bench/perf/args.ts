// webccl-perf's command line: nccl-tests' flags (short and long spellings, `-b 8`, `-b8`,
// `--minbytes=8`, parsed by node:util's parseArgs) plus webccl's own (--np, --transport, --algo, --mem). Every mistake is an
// error that names the flag; nothing is silently ignored.
import { ALGORITHM_CHOICES, algorithmNamed, checkAlgorithmChoice } from '../../lib/collectives/algorithms.js';
import { checkCodecChoice, codecNamed, CODECS } from '../../lib/collectives/codecs.js';
import { parseSwitchAddresses } from '../../lib/switch/control-protocol.js';
import { transportSetting, TRANSPORT_NAMES, TRANSPORTS } from '../../lib/transport/registry.js';
import type { DataType } from '../../lib/dtype.js';
import { readSettings, type AlgorithmSetting, type TransportSetting } from '../../lib/settings.js';
import { parseCollective, parseDataTypes, parseOps, type PerfCollective, type PerfOp } from './names.js';
import { parseBytes, type SizeSweep } from './sizes.js';
import { parseOptions, type OptionSpecs } from '../../bin/cli.js';
import { JIT_WARMUP_MS } from './jit-warmup.js';
import { SCHEDULED } from './prediction.js';

/**
 * TurboFan was still compiling the small call's path (the memo's check, the board's short path)
 * after 5,000 calls, in the first timed column; after 20,000 it is done (2 shm ranks,
 * docs/PERFORMANCE.md, "oop18"): 0.15 s at 8 B.
 */
export const DEFAULT_JIT_WARMUP = 20_000;

/** nccl-tests' -a: how per-rank times become the one printed (0 rank 0, 1 mean, 2 min, 3 max). */
export type AverageMode = 0 | 1 | 2 | 3;
export type MemorySetting = 'gpu' | 'cpu' | 'auto';

export interface PerfOptions extends SizeSweep {
  readonly collective: PerfCollective;
  readonly iters: number;
  readonly warmup: number;
  /**
   * --warmup-ms: each size's warm-up (per placement) goes on, after its -w calls, until this
   * long has passed on the slowest rank (0: -w alone, as nccl-tests). V8 takes 1000–2000 calls
   * to settle after the calls change (docs/PERFORMANCE.md, fresh29); -w 1 times that settling.
   */
  readonly warmupMs: number;
  /**
   * --tune: after each size's warm-up, Communicator.tune() times the cost model's nearest
   * candidates for the shape 'auto' runs and keeps the fastest for the timed calls (only where
   * the algorithm is auto, and for the collectives tune() times: not alltoall nor sendrecv).
   */
  readonly tune: boolean;
  /**
   * --versus: algorithms timed against the run's own (--algo) on the same ranks, in turns with
   * its out-of-place calls (versus.ts): the run's choice against the fixed ones in one run.
   */
  readonly versus: readonly string[];
  /** --rounds: with --versus, how many turns of -n calls each contender gets (the median is reported). */
  readonly rounds: number;
  /** --turn-ms: with --versus, each contender's turn is as many calls as fill this many ms at its own pace, not -n (0: -n). */
  readonly turnMs: number;
  /** --jit-warmup: untimed calls of the first size before the sweep, until V8 has compiled the call path (jit-warmup.ts). */
  readonly jitWarmup: number;
  readonly check: boolean;
  readonly ops: readonly PerfOp[];
  readonly dtypes: readonly DataType[];
  readonly root: number;
  readonly average: AverageMode;
  /** -J/--json: a file, or "-" for JSON on stdout instead of the table. */
  readonly jsonFile: string | undefined;
  /** --np: start this many local ranks (websocket, tcp) or in-process ranks (inproc). */
  readonly np: number | undefined;
  readonly transport: TransportSetting;
  readonly algorithm: AlgorithmSetting;
  readonly mem: MemorySetting;
  /** --host-buffers: CPU buffers from Communicator.allocHostBuffer (shared memory the board reads straight from) instead of plain TypedArrays. */
  readonly hostBuffers: boolean;
  /** -Z/--compression: the communicators' default codec (float32 sum/avg allreduce calls use it). */
  readonly compression: string;
  /** The table's wire and error columns: shown with -Z (even -Z none, to compare) or a codec from WEBCCL_COMPRESSION. */
  readonly compressionColumns: boolean;
  /** --plot: an SVG file of busbw against size, one series per (algorithm, transport, op/type). */
  readonly plotFile: string | undefined;
  /** --switch host:port: the switch the switch algorithm uses (else, with --algo switch, one started here). */
  readonly switch: string | undefined;
  /** --calibrate FILE: measure the cost model's parameters on these ranks and write a tuning file, instead of the sweep. */
  readonly calibrate: string | undefined;
  /** --explain: print the cost model's choice and every candidate's prediction over the sizes, without running ranks. */
  readonly explain: boolean;
  /** --tolerance T (with --explain): the codecs whose error bound fits T are candidates too. */
  readonly tolerance: number | undefined;
  /** --switch-via: how the ranks reach the switch, by UDP or through its WebSocket door (undefined: the ranks' default, UDP). */
  readonly switchVia: 'udp' | 'websocket' | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Flag {
  readonly short?: string;
  readonly long: readonly string[];
  /** Takes no value (a switch such as --explain). */
  readonly boolean?: true;
  readonly apply: (options: Mutable<PerfOptions>, value: string) => void;
}

function integer(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min) throw new Error(`${flag} needs an integer >= ${min}, got "${text}"`);
  return value;
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  const found = allowed.find((value) => value === text.toLowerCase());
  if (found === undefined) throw new Error(`${flag} must be one of ${allowed.join(', ')}, got "${text}"`);
  return found;
}

function bytes(flag: string, text: string): number {
  try {
    return parseBytes(text);
  } catch (error) {
    throw new Error(`${flag}: ${(error as Error).message}`);
  }
}

/** A comma list of distinct algorithm names (--versus ring,tree,direct). */
function algorithmList(flag: string, text: string): string[] {
  const names = text.split(',').map((name) => oneOf(flag, name.trim(), ALGORITHM_CHOICES));
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) throw new Error(`${flag} names ${repeated} twice`);
  return names;
}

/** --versus needs a collective whose calls take an algorithm, and algorithms that run it; --rounds and --turn-ms need --versus. */
function checkVersus(options: PerfOptions, given: ReadonlySet<string>): void {
  if (options.versus.length === 0) {
    const stray = ['rounds', 'turn-ms'].find((name) => given.has(name));
    if (stray !== undefined) throw new Error(`--${stray} times the turns of --versus: name the algorithms to race with --versus A,B`);
    return;
  }
  const scheduled = SCHEDULED[options.collective];
  if (scheduled === undefined) throw new Error(`--versus: ${options.collective} has one schedule, no algorithm to choose`);
  for (const name of options.versus) {
    if (name !== 'auto' && algorithmNamed(name)?.serves[scheduled] === undefined) throw new Error(`--versus: the ${name} algorithm does not run ${options.collective}`);
  }
}

/** --plot writes SVG (our own few lines of code); a PNG would need a rasterizer we do not ship. */
export function plotFile(path: string): string {
  if (/\.svg$/i.test(path)) return path;
  throw new Error(`--plot writes an SVG file (FILE.svg), got "${path}"${/\.png$/i.test(path) ? ': for a PNG convert the SVG, e.g. rsvg-convert -o plot.png plot.svg' : ''}`);
}

const FLAGS: readonly Flag[] = [
  { short: 'b', long: ['minbytes'], apply: (o, v) => { o.minBytes = bytes('-b', v); } },
  { short: 'e', long: ['maxbytes'], apply: (o, v) => { o.maxBytes = bytes('-e', v); } },
  { short: 'i', long: ['stepbytes'], apply: (o, v) => { o.stepBytes = bytes('-i', v); } },
  { short: 'f', long: ['stepfactor'], apply: (o, v) => { o.stepFactor = integer('-f', v, 1); } },
  { short: 'n', long: ['iters'], apply: (o, v) => { o.iters = integer('-n', v, 1); } },
  { short: 'w', long: ['warmup_iters', 'warmup-iters'], apply: (o, v) => { o.warmup = integer('-w', v, 0); } },
  { long: ['warmup-ms'], apply: (o, v) => { o.warmupMs = integer('--warmup-ms', v, 0); } },
  { long: ['tune'], boolean: true, apply: (o) => { o.tune = true; } },
  { long: ['versus'], apply: (o, v) => { o.versus = algorithmList('--versus', v); } },
  { long: ['rounds'], apply: (o, v) => { o.rounds = integer('--rounds', v, 1); } },
  { long: ['turn-ms'], apply: (o, v) => { o.turnMs = integer('--turn-ms', v, 0); } },
  { long: ['jit-warmup'], apply: (o, v) => { o.jitWarmup = integer('--jit-warmup', v, 0); } },
  { short: 'c', long: ['check'], apply: (o, v) => { o.check = integer('-c', v, 0) > 0; } },
  { short: 'o', long: ['op'], apply: (o, v) => { o.ops = parseOps(v); } },
  { short: 'd', long: ['datatype', 'dtype'], apply: (o, v) => { o.dtypes = parseDataTypes(v); } },
  { short: 'r', long: ['root'], apply: (o, v) => { o.root = integer('-r', v, 0); } },
  { short: 'a', long: ['average'], apply: (o, v) => { o.average = integer('-a', v, 0) as AverageMode; if (o.average > 3) throw new Error(`-a must be 0, 1, 2 or 3, got ${v}`); } },
  { short: 'J', long: ['json', 'output_file'], apply: (o, v) => { o.jsonFile = v; } },
  { long: ['np'], apply: (o, v) => { o.np = integer('--np', v, 1); } },
  { long: ['transport'], apply: (o, v) => { o.transport = oneOf('--transport', v, TRANSPORT_NAMES); } },
  { long: ['algo', 'algorithm'], apply: (o, v) => { o.algorithm = oneOf('--algo', v, ALGORITHM_CHOICES); } },
  { long: ['switch'], apply: (o, v) => { parseSwitchAddresses(v); o.switch = v; } },
  { long: ['switch-via'], apply: (o, v) => { o.switchVia = oneOf('--switch-via', v, ['udp', 'websocket'] as const); } },
  { long: ['mem'], apply: (o, v) => { o.mem = oneOf('--mem', v, ['gpu', 'cpu', 'auto']); } },
  { long: ['plot'], apply: (o, v) => { o.plotFile = plotFile(v); } },
  { short: 'Z', long: ['compression'], apply: (o, v) => { o.compression = oneOf('--compression', v, CODECS.map((c) => c.name)); o.compressionColumns = true; } },
  { long: ['calibrate'], apply: (o, v) => { o.calibrate = v; } },
  { long: ['explain'], boolean: true, apply: (o) => { o.explain = true; } },
  { long: ['host-buffers'], boolean: true, apply: (o) => { o.hostBuffers = true; } },
  { long: ['tolerance'], apply: (o, v) => { o.tolerance = Number(v); if (v.trim() === '' || !(o.tolerance >= 0)) throw new Error(`--tolerance needs a number >= 0, got "${v}"`); } },
];

export const PERF_USAGE = `usage: webccl-perf <allreduce|allgather|reducescatter|broadcast|reduce|alltoall|sendrecv> [options]
  -b, --minbytes N      smallest message (K/M/G suffixes; default 32M)
  -e, --maxbytes N      largest message (default 32M)
  -f, --stepfactor N    multiply the size by N each step (default 1: add -i instead)
  -i, --stepbytes N     add N bytes each step (default 1M)
  -n, --iters N         timed iterations per size (default 20)
  -w, --warmup_iters N  untimed iterations before timing (default 1)
  --warmup-ms MS        and after them more untimed ones, until MS ms have passed on every
                        rank, at each size and placement: V8 takes 1000-2000 calls to settle
                        after the calls change, which -w 1 times (default 0: -w alone)
  --tune                after each size's warm-up, time the cost model's nearest candidates
                        for the call 'auto' runs and keep the fastest (Communicator.tune)
  --versus A,B,...      also time these algorithms (${ALGORITHM_CHOICES.join(', ')}) on the same
                        ranks, in turns with the out-of-place calls of --algo's: each size gets
                        --rounds rounds of one turn each (one untimed call, then -n timed), the
                        order balanced over the rounds; the table adds the algorithm auto runs,
                        each one's median time per call, and ratio, the out-of-place time over
                        the fastest of them
  --rounds R            with --versus: rounds per size (default 5); the out-of-place time is
                        then the median round's
  --turn-ms MS          with --versus: each one's turn is as many calls as fill MS ms at its
                        own pace (the quickest of 3 calls, the slowest rank's), not -n: turns of a
                        few ms time the OS scheduler more than the calls (default 0: -n)
  --jit-warmup N        before the sweep, N untimed calls of the first size (both placements),
                        at most ${JIT_WARMUP_MS / 1000} s, so that the table times V8's compiled code, not
                        its first calls in the interpreter (default ${DEFAULT_JIT_WARMUP}; 0: none)
  -c, --check 0|1       count wrong elements against the expected result (default 1)
  -o, --op OP           sum, prod, min, max, avg, mulsum (premulSum by 1 on even ranks,
                        2 on odd ones, as nccl-tests) or all (default sum)
  -d, --datatype T      float, half, bfloat16, int32, uint32 or all (default float)
  -r, --root N          root rank of broadcast and reduce (default 0)
  -a, --average 0-3     time reported: 0 rank 0, 1 mean, 2 min, 3 max over ranks (default 1)
  -J, --json FILE       also write results as JSON to FILE ("-": JSON on stdout, no table),
                        in nccl-tests' -J layout (version 3) plus a "webccl" object
  --plot FILE.svg       also draw busbw against size (log axes), one line per
                        algorithm/transport/op/type of the run, each beside its
                        prediction by the cost model
  --np N                start N local ranks (like mpirun -np N)
  --transport T         ${TRANSPORTS.map((row) => `${row.name} (${row.reach})`).join(',\n                        ')}
                        (default WEBCCL_TRANSPORT or websocket; a rank started by hand
                        with RANK/WORLD_SIZE joins over it, or fails if WEBCCL_ID names another)
  --algo A              ${ALGORITHM_CHOICES.join(', ')} (default WEBCCL_ALGO or auto)
  --switch HOST:PORT    the switch for --algo switch (and auto); without it --algo switch starts
                        one in this process (its counters are printed after the table);
                        HOST:PORT,ws://HOST:PORT adds its WebSocket door
  --switch-via V        udp or websocket: how the ranks reach the switch (default
                        WEBCCL_SWITCH_VIA, else udp); websocket needs the door's ws:// URL in
                        --switch, or the switch started here opens one
  --mem M               gpu (GPUBuffers), cpu (TypedArrays) or auto (gpu when an adapter exists; default)
  --host-buffers        CPU buffers from Communicator.allocHostBuffer (shared memory that the shm
                        transport's board reads straight from: large allgathers and broadcasts
                        make one copy instead of two, large allreduces fold the peers' elements
                        where they lie), not plain TypedArrays
  -Z, --compression C   ${CODECS.map((c) => c.name).join(', ')} (default WEBCCL_COMPRESSION or none): float32
                        sum/avg allreduce payloads travel encoded; algbw and busbw are computed
                        from the uncompressed bytes; a lossy codec turns -c off (its bounds are
                        checked by the test suites); the table adds wire(B), the payload bytes
                        a rank sent per call (max over ranks), and maxrelerr, the largest
                        |result - exact| / max(1, |exact|) over elements and ranks
  --calibrate FILE      instead of the sweep, measure this world's cost-model parameters
                        (message latency, link and reduction cost per byte, codec rates; the
                        slowest rank's) and write them to FILE for WEBCCL_TUNING_FILE
  --explain             print, for the sizes of -b/-e/-f and --np ranks, the algorithm (and
                        codec) the cost model picks and every candidate's predicted time, from
                        WEBCCL_TUNING_FILE's parameters (else the defaults); runs no ranks
  --tolerance T         with --explain: codecs whose error bound (relative to the largest
                        sum of |x|) fits T are candidates too (compression 'auto')`;

export function defaultPerfOptions(collective: PerfCollective): PerfOptions {
  const settings = readSettings();
  checkAlgorithmChoice(`WEBCCL_ALGO=${settings.algorithm}`, settings.algorithm);
  checkCodecChoice(`WEBCCL_COMPRESSION=${settings.compression}`, settings.compression);
  // nccl-tests' defaults (src/common.cu: iters 20, warmup_iters 1, datacheck 1, average 1).
  return {
    collective, minBytes: 32 * 1024 ** 2, maxBytes: 32 * 1024 ** 2, stepFactor: 1, stepBytes: 1024 ** 2,
    iters: 20, warmup: 1, warmupMs: 0, tune: false, versus: [], rounds: 5, turnMs: 0, jitWarmup: DEFAULT_JIT_WARMUP, check: true, ops: ['sum'], dtypes: ['float32'], root: 0, average: 1,
    jsonFile: undefined, np: undefined, transport: transportSetting(), algorithm: settings.algorithm, mem: 'auto', hostBuffers: false,
    compression: settings.compression, compressionColumns: settings.compression !== 'none', plotFile: undefined, switch: undefined, calibrate: undefined, explain: false, tolerance: undefined,
    switchVia: undefined,
  };
}

/** parseArgs' configuration from FLAGS: every long spelling is an option, the first one carries the short letter. */
function parseArgsOptions(): OptionSpecs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const flag of FLAGS) {
    flag.long.forEach((name, i) => { options[name] = { type: flag.boolean ? 'boolean' : 'string', ...(i === 0 && flag.short ? { short: flag.short } : {}) }; });
  }
  return options;
}

/** Parses argv (without node and the script). Returns 'help' for -h/--help and 'version' for --version. */
export function parsePerfArgs(argv: readonly string[]): PerfOptions | 'help' | 'version' {
  if (argv.includes('-h') || argv.includes('--help')) return 'help';
  if (argv.includes('--version')) return 'version';
  const [first, ...rest] = argv;
  if (first === undefined || first.startsWith('-')) throw new Error('name the collective first, e.g. webccl-perf allreduce -b 8 -e 128M -f 2');
  const options: Mutable<PerfOptions> = { ...defaultPerfOptions(parseCollective(first)) };
  // mpirun's single-dash -np (parseArgs would read it as -n with the value "p").
  const args = rest.map((arg) => (arg === '-np' ? '--np' : arg.startsWith('-np=') ? `--np=${arg.slice(4)}` : arg));
  // In command-line order, as nccl-tests applies them (-b8, -b 8, --minbytes=8 alike).
  const given = new Set<string>();
  for (const token of parseOptions(args, parseArgsOptions()).tokens) {
    if (token.kind !== 'option') continue;
    const flag = FLAGS.find((f) => f.long.includes(token.name!))!;
    flag.apply(options, token.value ?? '');
    given.add(flag.long[0]!);
  }
  checkVersus(options, given);
  if (options.minBytes > options.maxBytes) throw new Error(`-b (${options.minBytes}) is above -e (${options.maxBytes})`);
  if (options.switchVia === 'websocket' && options.switch !== undefined && parseSwitchAddresses(options.switch).webSocket === undefined) {
    throw new Error(`--switch-via websocket: --switch ${options.switch} names no ws:// URL of the switch's WebSocket door (give HOST:PORT,ws://HOST:PORT)`);
  }
  // A lossy codec's results differ from the exact ones by design: #wrong would count that.
  if (!codecNamed(options.compression)!.lossless) options.check = false;
  return options;
}
