// What Communicator.fromEnv reads: WEBCCL_ID, or the rendezvous address (MASTER_ADDR/MASTER_PORT
// or what the launcher implies, turned into an id by the provider of WEBCCL_TRANSPORT, websocket
// by default, if it knows how); rank, size and local rank from the launcher's variables
// (launchers.ts: torchrun and webccl-run, Open MPI, PMI, Slurm).
import { invalidArgument } from '../errors.js';
import { readEnv } from '../settings.js';
import { idFromAddress } from '../transport/world.js';
import { launchedRank } from './launchers.js';

export interface EnvironmentWorld {
  readonly id: string;
  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
}

/** The world described by the environment; explicit values take precedence. */
export async function worldFromEnvironment(given: { id?: string; rank?: number; size?: number; localRank?: number }): Promise<EnvironmentWorld> {
  const launched = launchedRank(given);
  const { rank, size } = launched;
  let id = given.id ?? readEnv('WEBCCL_ID');
  if (id === undefined) {
    if (launched.masterAddr === undefined) {
      throw invalidArgument(`fromEnv: set WEBCCL_ID, or MASTER_ADDR and MASTER_PORT (${launched.launcher} says where rank ${rank} is, not where rank 0 is)`);
    }
    id = await idFromAddress(launched.masterAddr, launched.masterPort, rank, size);
  }
  return { id, rank, size, localRank: given.localRank ?? launched.localRank ?? rank };
}
