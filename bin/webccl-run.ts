// webccl-run: `webccl-run -np N script.js [args]` starts N local ranks of a Node script with
// torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), prefixes
// their output with the rank, and exits non-zero (stopping the others) as soon as one fails.
import { launchRanks, nodeArgsFor } from './launch/launch.js';
import { parseRunArgs, RUN_USAGE, type RunCommand } from './launch/run-args.js';
import { hostRendezvous } from './launch/rendezvous-env.js';
import { packageVersion } from './cli.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let command: RunCommand | 'help' | 'version';
  try {
    command = argv.length === 0 ? 'help' : parseRunArgs(argv);
  } catch (error) {
    console.error(`webccl-run: ${(error as Error).message}`);
    process.exit(2);
  }
  if (command === 'help' || command === 'version') {
    console.log(command === 'help' ? RUN_USAGE : packageVersion());
    return;
  }
  let scriptArgs: string[];
  try {
    scriptArgs = [...nodeArgsFor(command.script), ...command.scriptArgs];
  } catch (error) {
    console.error(`webccl-run: ${(error as Error).message}`);
    process.exit(2);
  }
  const node = { rank: command.nodeRank, count: command.nnodes };
  let rendezvous;
  try {
    rendezvous = await hostRendezvous({ masterAddr: command.masterAddr, masterPort: command.masterPort, node });
  } catch (error) {
    console.error(`webccl-run: ${(error as Error).message}`);
    process.exit(2);
  }
  const result = await launchRanks({ np: command.np, node, command: process.execPath, args: scriptArgs, ...rendezvous });
  if (result.reason !== undefined) console.error(`webccl-run: ${result.reason}; stopped the other ranks`);
  process.exitCode = result.exitCode;
}

await main();
