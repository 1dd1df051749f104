// Command line of webccl-run, kept apart from the CLI so that tests can parse without launching.

export const RUN_USAGE = `usage: webccl-run -np N [--master-addr ADDR] [--master-port PORT] script.(js|ts) [args...]`;

export interface RunCommand {
  readonly np: number;
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

/** Options end at the script name: everything after it belongs to the script. */
export function parseRunArgs(argv: readonly string[]): RunCommand {
  let np: number | undefined;
  let masterAddr: string | undefined;
  let masterPort: number | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) break;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === '-np' || flag === '--np' || flag === '-n' || flag === '--nproc-per-node') np = positiveInteger(flag, value());
    else if (flag === '--master-addr') masterAddr = value();
    else if (flag === '--master-port') masterPort = positiveInteger(flag, value());
    else throw new Error(`unknown option ${flag}\n${RUN_USAGE}`);
  }
  const script = argv[i];
  if (np === undefined) throw new Error(`-np N is required\n${RUN_USAGE}`);
  if (script === undefined) throw new Error(`no script given\n${RUN_USAGE}`);
  return {
    np, script, scriptArgs: argv.slice(i + 1),
    ...(masterAddr !== undefined ? { masterAddr } : {}),
    ...(masterPort !== undefined ? { masterPort } : {}),
  };
}

