// bench:compare's command line: an optional collective (allreduce when absent), nccl-tests'
// sweep flags and the choice of contestants.
import { parseBytes } from '../perf/sizes.js';
import { parseCollective } from '../perf/names.js';
import { plotFile } from '../perf/args.js';
import { COMPARE_COLLECTIVES, type CompareCollective, type CompareSweep } from './peer.js';

export const TRANSPORTS = ['inproc', 'websocket', 'tcp', 'shm', 'ntcp'];
export const PEERS = ['gloo', 'mpi-tcp', 'mpi-sm'];

export const COMPARE_USAGE = `usage: npm run bench:compare -- [COLLECTIVE] [options]
  COLLECTIVE     ${COMPARE_COLLECTIVES.join(' | ')} (default allreduce; nccl-tests'
                 spellings too: reduce_scatter_perf); float32, sum where it reduces, root 0,
                 in place, CPU memory
  --np N         ranks (default 2)
  -b, -e, -f     smallest size, largest size, step factor (default 8, 64M, 2)
  -n, -w         timed and warm-up calls per size (default 20, 3)
  --transports   webccl's transports, comma-separated (default ${TRANSPORTS.join(',')})
  --peers        peers, comma-separated (default ${PEERS.join(',')}; gloo times allreduce only)
  --host-buffers webccl's CPU buffers from Communicator.allocHostBuffer (webccl-perf
                 --host-buffers; its contestants are then named webccl-<transport>-hostbuf)
  --json FILE    every contestant's times as JSON
  --plot FILE    busbw of every contestant as an SVG picture`;

export interface CompareOptions {
  readonly sweep: CompareSweep;
  readonly transports: readonly string[];
  readonly peers: readonly string[];
  readonly jsonFile: string | undefined;
  readonly plotFile: string | undefined;
  /** --host-buffers: webccl-perf runs with --host-buffers. */
  readonly hostBuffers: boolean;
}

const FLAGS = ['--np', '-b', '-e', '-f', '-n', '-w', '--json', '--plot', '--transports', '--peers'];

function compareCollective(text: string): CompareCollective {
  let collective: string | undefined;
  try {
    collective = parseCollective(text);
  } catch {
    collective = undefined;
  }
  const found = COMPARE_COLLECTIVES.find((name) => name === collective);
  if (found === undefined) throw new Error(`no comparison of "${text}" (collectives: ${COMPARE_COLLECTIVES.join(', ')})`);
  return found;
}

/** Parses argv (without node and the script); 'help' for -h/--help. */
export function parseCompareArgs(argv: readonly string[]): CompareOptions | 'help' {
  if (argv.includes('-h') || argv.includes('--help')) return 'help';
  const values = new Map<string, string>();
  const names: string[] = [];
  let hostBuffers = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--host-buffers') {
      hostBuffers = true;
      continue;
    }
    if (!word.startsWith('-')) {
      names.push(word);
      continue;
    }
    const value = argv[++i];
    if (!FLAGS.includes(word)) throw new Error(`unknown option ${word} (options: ${FLAGS.join(' ')} --host-buffers)`);
    if (value === undefined) throw new Error(`${word} needs a value`);
    values.set(word, value);
  }
  if (names.length > 1) throw new Error(`one collective at a time, got ${names.join(', ')}`);
  const collective = names[0] === undefined ? 'allreduce' : compareCollective(names[0]);
  const integer = (flag: string, fallback: number): number => {
    const raw = values.get(flag);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} needs a positive integer, got ${raw}`);
    return value;
  };
  const sweep: CompareSweep = {
    collective,
    ranks: integer('--np', 2),
    minBytes: parseBytes(values.get('-b') ?? '8'),
    maxBytes: parseBytes(values.get('-e') ?? '64M'),
    stepFactor: integer('-f', 2),
    stepBytes: 0,
    iters: integer('-n', 20),
    warmup: integer('-w', 3),
  };
  if (sweep.stepFactor < 2) throw new Error('-f must be 2 or more (the peers step by a factor)');
  const plot = values.get('--plot');
  return {
    sweep, hostBuffers, jsonFile: values.get('--json'), plotFile: plot === undefined ? undefined : plotFile(plot),
    transports: listOption(values.get('--transports'), '--transports', TRANSPORTS), peers: listOption(values.get('--peers'), '--peers', PEERS),
  };
}

/** A comma-separated subset of `known` (all of it when absent). */
function listOption(raw: string | undefined, flag: string, known: readonly string[]): string[] {
  if (raw === undefined) return [...known];
  const picked = raw.split(',').filter((name) => name !== '');
  const unknown = picked.filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new Error(`${flag}: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
  return picked;
}
