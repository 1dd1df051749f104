// For the benches that measure between two processes: a process started with RANK set is one
// of the ranks and runs `rank`; the process started by hand launches two of itself (with the
// rendezvous env webccl-run gives) and exits with their status.
import { launchRanks } from '../bin/launch/launch.js';
import { hostRendezvous } from '../bin/launch/rendezvous-env.js';

export async function runAsTwoRanks(rank: () => Promise<void>): Promise<void> {
  if (process.env['RANK'] !== undefined) {
    await rank();
    return;
  }
  const result = await launchRanks({ np: 2, command: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)], ...await hostRendezvous() });
  process.exitCode = result.exitCode;
}
