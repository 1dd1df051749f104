// What the three commands share about their command lines: node:util's parseArgs with -h/--help
// and --version on every command, its errors rephrased to name the option as the user typed it
// (the commands exit 2 with them), and the package's version.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies OptionSpecs;

/** parseArgs' error as one short line: "unknown option --x", "--port needs a value", "unexpected argument "x"". */
export function usageMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  const quoted = /'([^' ,]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${quoted}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `${quoted} needs a value`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument "${quoted}"`;
  return message;
}

export interface ParsedOptions {
  /** String options as given (the last one wins), boolean ones true when present. */
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  /** Every option in command-line order, for commands where order matters. */
  readonly tokens: readonly OptionToken[];
}

export interface OptionToken {
  readonly kind: string;
  readonly name?: string;
  readonly rawName?: string;
  readonly value?: string | undefined;
  readonly index: number;
}

/** parseArgs, strict, with the common options added; errors carry usageMessage's line. */
export function parseOptions(args: readonly string[], options: OptionSpecs, allowPositionals = false): ParsedOptions {
  try {
    const parsed = parseArgs({ args: [...args], options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals, tokens: true });
    return { values: parsed.values as ParsedOptions['values'], positionals: parsed.positionals, tokens: parsed.tokens as OptionToken[] };
  } catch (error) {
    throw new Error(usageMessage(error), { cause: error });
  }
}

/** A string option's value (undefined when absent). */
export function stringOption(values: ParsedOptions['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

let root: { dir: string; version: string } | null | undefined;

/** webccl's own folder (the repository, or node_modules/webccl) and version, from the package.json above this file. */
function packageRoot(): { dir: string; version: string } | null {
  if (root !== undefined) return root;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (!existsSync(path)) continue;
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'webccl') return root = { dir, version: pkg.version ?? 'unknown' };
  }
  return root = null;
}

/** webccl's version (bin/ in the repository, dist/bin/ when installed). */
export function packageVersion(): string {
  return packageRoot()?.version ?? 'unknown';
}

/** A file of webccl's own folder, if it is there (test/register.mjs is, in a checkout; not in the package). */
export function ownFile(relativePath: string): string | undefined {
  const dir = packageRoot()?.dir;
  return dir !== undefined && existsSync(join(dir, relativePath)) ? join(dir, relativePath) : undefined;
}
