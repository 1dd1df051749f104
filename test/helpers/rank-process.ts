// A communicator rank in its own process (test/workers/comm-rank.ts), for the multi-process
// suites: started with WEBCCL_ID/RANK/WORLD_SIZE, its JSON-line reports collected, and killed
// at the end of the suite if a test left it running.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Report { rank: number; event: string; [field: string]: unknown }

const children: ChildProcess[] = [];

export function startRank(id: string, rank: number, size: number, mode: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'test/workers/comm-rank.ts', mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, WEBCCL_ID: id, RANK: String(rank), WORLD_SIZE: String(size), LOCAL_RANK: String(rank), ...env },
  });
  children.push(child);
  const reports: Report[] = [];
  const waiting: (() => void)[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) reports.push(JSON.parse(line) as Report);
    waiting.splice(0).forEach((wake) => wake());
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const next = (event: string) => new Promise<Report>((resolve) => {
    const look = () => {
      const found = reports.find((r) => r.event === event);
      if (found) resolve(found);
      else waiting.push(look);
    };
    look();
  });
  return { child, reports, exited, next };
}

/** Kills whatever a suite's tests left running (its test.after). */
export function killLeftoverRanks(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
