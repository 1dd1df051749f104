// Runs one command to completion and keeps its output (for mpicc, mpirun and probes).
import { spawn } from 'node:child_process';

export interface CommandOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCommand(command: string, args: readonly string[], env?: Readonly<Record<string, string>>): Promise<CommandOutput> {
  return new Promise((done) => {
    const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', (error) => done({ code: 127, stdout, stderr: stderr + error.message }));
    child.on('close', (code, signal) => done({ code: code ?? (signal !== null ? 128 : 1), stdout, stderr }));
  });
}

/** The last few lines of a failed command's stderr (stack frames left out), for a one-line "not measured" reason. */
export function tail(text: string, lines = 3): string {
  const meaningful = text.trim().split('\n').filter((line) => !/^\s+at /.test(line) && line.trim() !== '');
  return meaningful.slice(-lines).join(' | ');
}
