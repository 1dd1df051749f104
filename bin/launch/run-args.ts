// Command line of webccl-run, kept apart from the CLI so that tests can parse without launching.
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, parseOptions, stringOption, type OptionSpecs } from '../cli.js';

export const RUN_USAGE = `usage: webccl-run -np N [--master-addr ADDR] [--master-port PORT] script.(js|ts) [args...]
       webccl-run -np N --nnodes M --node-rank R --master-addr ADDR --master-port PORT script [args...]   (one per host; WEBCCL_SECRET shared)
       webccl-run --help | --version`;

export interface RunCommand {
  /** Ranks on this host. */
  readonly np: number;
  /** Hosts in the job and this one's index (torchrun's --nnodes, --node-rank); 1 and 0 by default. */
  readonly nnodes: number;
  readonly nodeRank: number;
  readonly masterAddr?: string;
  readonly masterPort?: number;
  readonly script: string;
  readonly scriptArgs: string[];
}

function positiveInteger(flag: string, raw: string | undefined): number {
  const value = Number(raw);
  if (raw === undefined || !Number.isInteger(value) || value < 1) throw new Error(`${flag} needs a positive integer, got ${raw ?? 'nothing'}`);
  return value;
}

const RUN_OPTIONS = {
  np: { type: 'string', short: 'n' }, 'nproc-per-node': { type: 'string' },
  'master-addr': { type: 'string' }, 'master-port': { type: 'string' },
  nnodes: { type: 'string' }, 'node-rank': { type: 'string' },
} as const satisfies OptionSpecs;

/** Options end at the script name: everything after it belongs to the script. Returns 'help' or 'version' for those. */
export function parseRunArgs(argv: readonly string[]): RunCommand | 'help' | 'version' {
  // mpirun's single-dash -np (parseArgs would read it as -n with the value "p").
  const args = argv.map((arg) => (arg === '-np' ? '--np' : arg.startsWith('-np=') ? `--np=${arg.slice(4)}` : arg));
  // A lenient pass finds where the script name is (an option's value is never taken for it)...
  const loose = parseArgs({ args, options: { ...COMMON_OPTIONS, ...RUN_OPTIONS }, strict: false, allowPositionals: true, tokens: true });
  const scriptAt = loose.tokens.find((token) => token.kind === 'positional')?.index ?? args.length;
  // ...then the launcher's own options are parsed strictly.
  const { values } = parseOptions(args.slice(0, scriptAt), RUN_OPTIONS);
  if (values['help']) return 'help';
  if (values['version']) return 'version';
  const npText = stringOption(values, 'np') ?? stringOption(values, 'nproc-per-node');
  const masterAddr = stringOption(values, 'master-addr');
  const masterPortText = stringOption(values, 'master-port');
  const script = args[scriptAt];
  if (npText === undefined) throw new Error(`-np N is required\n${RUN_USAGE}`);
  const np = positiveInteger('-np', npText);
  if (script === undefined) throw new Error(`no script given\n${RUN_USAGE}`);
  const nnodesText = stringOption(values, 'nnodes');
  const nodeRankText = stringOption(values, 'node-rank');
  const nnodes = nnodesText === undefined ? 1 : positiveInteger('--nnodes', nnodesText);
  const nodeRank = nodeRankText === undefined ? 0 : Number(nodeRankText);
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes) throw new Error(`--node-rank needs an integer in [0, ${nnodes - 1}], got ${nodeRankText}`);
  if (nnodes > 1 && (masterAddr === undefined || masterPortText === undefined)) {
    throw new Error(`--nnodes ${nnodes}: every host needs the same --master-addr (node 0's address) and --master-port`);
  }
  return {
    np, nnodes, nodeRank, script, scriptArgs: argv.slice(scriptAt + 1),
    ...(masterAddr !== undefined ? { masterAddr } : {}),
    ...(masterPortText !== undefined ? { masterPort: positiveInteger('--master-port', masterPortText) } : {}),
  };
}
