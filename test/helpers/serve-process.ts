// `webccl serve` (bin/webccl.ts) in a child process, for the tests that attack it from outside.
import { spawn, type ChildProcess } from 'node:child_process';
import { within } from '../within.js';

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly id: string;
  /** The last few KiB of its stderr, for failure messages. */
  stderrTail(): string;
  /** Fails if it has exited (a crash shows its stderr). */
  assertAlive(): void;
  stop(): Promise<number | null>;
}

export async function startServe(env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'bin/webccl.ts', 'serve', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
  let tail = '';
  child.stderr!.on('data', (chunk: Buffer) => { tail = (tail + chunk.toString()).slice(-4096); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const id = await within(new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().split('\n')[0]!.trim()));
    child.once('exit', (code) => reject(new Error(`webccl serve exited (${code}) before printing an id: ${tail}`)));
  }), 20_000, 'webccl serve id');
  return {
    child, id,
    stderrTail: () => tail,
    assertAlive: () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`webccl serve exited (${child.exitCode ?? child.signalCode}):\n${tail}`);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 5000).unref())]);
      if (code === 'late') child.kill('SIGKILL');
      return code === 'late' ? null : code;
    },
  };
}
