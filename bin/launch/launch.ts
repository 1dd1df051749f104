// Starts N local ranks of one command, torchrun-style: each child gets RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR and MASTER_PORT. Used by webccl-run, by webccl-perf --np and by the
// peer comparison (which launches Python ranks the same way). When one rank fails, the others
// are stopped: a collective job with a dead rank can only hang or fail, so waiting is pointless.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ownFile } from '../cli.js';
import { rankSpawner } from './bind.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LaunchOptions {
  /** Ranks started here. */
  readonly np: number;
  /** A job over several hosts: this host's index and the number of hosts (ranks are numbered host by host). */
  readonly node?: { readonly rank: number; readonly count: number };
  /** Executable and arguments every rank runs (e.g. process.execPath and a script). */
  readonly command: string;
  readonly args: readonly string[];
  readonly masterAddr?: string;
  /** A fixed rendezvous port; by default a free one is picked. */
  readonly masterPort?: number;
  /** Added to the parent's environment (on top of which the rank variables are set). */
  readonly env?: Readonly<Record<string, string>>;
  /** Where each output line goes; by default to the parent's stdout/stderr with a `[rankN]: ` prefix. */
  readonly onLine?: (rank: number, stream: 'stdout' | 'stderr', line: string) => void;
  /** Rank 0 shares the parent's terminal (mpirun-like: its table and TTY progress pass through untouched). */
  readonly inheritRank0?: boolean;
  /** How long stopped ranks get between SIGTERM and SIGKILL. */
  readonly killGraceMs?: number;
}

export interface LaunchResult {
  /** 0 when every rank exited 0; otherwise the first failing rank's code (128 + signal number for a signal). */
  readonly exitCode: number;
  /** The first rank that failed, if one did. */
  readonly failedRank?: number;
  /** Human-readable account of the first failure (or of an interrupt). */
  readonly reason?: string;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** A port that was free a moment ago on `host` (the usual bind-to-0 trick; the rank 0 store binds it next). */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** Walks up from this module (bin/launch/ in the repo, dist/bin/ in a build) to a file of the repo. */
export function findRepoFile(relativePath: string): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, relativePath);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Node arguments that run `script`. A `.ts` script runs through, in order: this repository's
 * TypeScript hooks (a checkout), `tsx` where the user's project has it (`--import tsx`, resolved
 * from the working directory as Node resolves --import), or Node's own type stripping (Node
 * >= 22.18 and 23.6 strip types by default). Otherwise a one-line error says what to install.
 */
export function nodeArgsFor(script: string): string[] {
  if (!/\.(m|c)?ts$/.test(script)) return [script];
  const path = resolve(script);
  const register = ownFile('test/register.mjs');
  if (register !== undefined) return ['--import', register, path];
  if (hasTsx()) return ['--import', 'tsx', path];
  if ((process.features as { typescript?: string }).typescript) return [path];
  throw new Error(`cannot run ${script}: Node ${process.version} does not run TypeScript by itself; `
    + 'install tsx in your project (npm install -D tsx), use Node >= 22.18, or compile the script to .js');
}

function hasTsx(): boolean {
  try {
    createRequire(join(process.cwd(), 'package.json')).resolve('tsx/package.json');
    return true;
  } catch {
    return false;
  }
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal !== null) return 128 + (SIGNAL_NUMBERS[signal] ?? 1);
  return code ?? 1;
}

function defaultOnLine(rank: number, stream: 'stdout' | 'stderr', line: string): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`[rank${rank}]: ${line}\n`);
}

/**
 * Dawn (the `webgpu` package) prints these two lines from native code in every process that
 * creates a device on a driver reporting more dynamic buffers per pipeline layout than Dawn can
 * offset (Mesa's lavapipe says 1000000): Dawn's Limits.cpp clamps them to 16 and says so. webccl
 * uses no dynamic offsets, so nobody has to act on them; a launcher that reads its ranks' output
 * drops them (a process writing straight to a terminal cannot be stopped from printing them).
 */
const DAWN_LIMIT_NOTICE = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

function forwardLines(child: ChildProcess, rank: number, onLine: NonNullable<LaunchOptions['onLine']>): Promise<void>[] {
  const streams = [['stdout', child.stdout], ['stderr', child.stderr]] as const;
  return streams.flatMap(([name, stream]) => {
    if (stream === null) return [];
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => { if (name === 'stdout' || !DAWN_LIMIT_NOTICE.test(line)) onLine(rank, name, line); });
    return [new Promise<void>((done) => lines.once('close', done))];
  });
}

export async function launchRanks(options: LaunchOptions): Promise<LaunchResult> {
  if (!Number.isInteger(options.np) || options.np < 1) throw new Error(`-np must be a positive integer, got ${options.np}`);
  const spawnRank = rankSpawner(options.np);
  const masterAddr = options.masterAddr ?? '127.0.0.1';
  const masterPort = options.masterPort ?? await findFreePort(masterAddr);
  const onLine = options.onLine ?? defaultOnLine;
  const graceMs = options.killGraceMs ?? 3000;

  let result: LaunchResult | undefined;
  const running = new Set<ChildProcess>();
  const killTimers: NodeJS.Timeout[] = [];

  const stopAll = (signal: NodeJS.Signals): void => {
    for (const child of running) child.kill(signal);
    // A rank that ignores SIGTERM (stuck in a native call) must not keep the job alive.
    killTimers.push(setTimeout(() => { for (const child of running) child.kill('SIGKILL'); }, graceMs).unref());
  };

  const onInterrupt = (signal: NodeJS.Signals): void => {
    result ??= { exitCode: exitCodeOf(null, signal), reason: `interrupted by ${signal}` };
    stopAll(signal);
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);

  const node = options.node ?? { rank: 0, count: 1 };
  const exits = Array.from({ length: options.np }, (_, localRank) => {
    const rank = node.rank * options.np + localRank;
    const inherit = rank === 0 && options.inheritRank0 === true;
    const child = spawnRank(localRank, () => spawn(options.command, [...options.args], {
      stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env, ...options.env,
        RANK: String(rank), WORLD_SIZE: String(options.np * node.count), LOCAL_RANK: String(localRank),
        LOCAL_WORLD_SIZE: String(options.np), MASTER_ADDR: masterAddr, MASTER_PORT: String(masterPort),
      },
    }));
    running.add(child);
    const outputDone = inherit ? [] : forwardLines(child, rank, onLine);
    const exited = new Promise<void>((done) => {
      child.on('error', (error) => {
        result ??= { exitCode: 127, failedRank: rank, reason: `rank ${rank} could not start: ${error.message}` };
        running.delete(child);
        stopAll('SIGTERM');
        done();
      });
      child.on('exit', (code, signal) => {
        running.delete(child);
        const exitCode = exitCodeOf(code, signal);
        if (exitCode !== 0 && result === undefined) {
          const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
          result = { exitCode, failedRank: rank, reason: `rank ${rank} ${how}` };
          stopAll('SIGTERM');
        }
        done();
      });
    });
    // Wait for the output too, so no line is lost after the exit event.
    return Promise.all([exited, ...outputDone]);
  });

  try {
    await Promise.all(exits);
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    for (const timer of killTimers) clearTimeout(timer);
  }
  return result ?? { exitCode: 0 };
}
