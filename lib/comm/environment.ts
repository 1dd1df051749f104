// What Communicator.fromEnv reads: WEBCCL_ID, or torchrun's MASTER_ADDR/MASTER_PORT (turned
// into an id by the provider of WEBCCL_TRANSPORT, websocket by default, if it knows how); rank
// and size from WEBCCL_RANK / WEBCCL_WORLD_SIZE or torchrun's RANK / WORLD_SIZE; LOCAL_RANK.
import { invalidArgument } from '../errors.js';
import { readEnv } from '../settings.js';
import { idFromAddress } from '../transport/world.js';

export interface EnvironmentWorld {
  readonly id: string;
  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
}

function envInteger(...names: string[]): number | undefined {
  for (const name of names) {
    const raw = readEnv(name);
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 0) throw invalidArgument(`fromEnv: ${name}=${raw} is not a non-negative integer`);
    return value;
  }
  return undefined;
}

function torchrunId(rank: number, size: number): Promise<string> {
  const host = readEnv('MASTER_ADDR');
  const port = envInteger('MASTER_PORT');
  if (!host || port === undefined) throw invalidArgument('fromEnv: set WEBCCL_ID, or MASTER_ADDR and MASTER_PORT');
  return idFromAddress(host, port, rank, size);
}

/** The world described by the environment; explicit values take precedence. */
export async function worldFromEnvironment(given: { id?: string; rank?: number; size?: number; localRank?: number }): Promise<EnvironmentWorld> {
  const rank = given.rank ?? envInteger('WEBCCL_RANK', 'RANK');
  const size = given.size ?? envInteger('WEBCCL_WORLD_SIZE', 'WORLD_SIZE');
  if (rank === undefined || size === undefined) throw invalidArgument('fromEnv: set RANK and WORLD_SIZE (or WEBCCL_RANK and WEBCCL_WORLD_SIZE)');
  const id = given.id ?? readEnv('WEBCCL_ID') ?? await torchrunId(rank, size);
  return { id, rank, size, localRank: given.localRank ?? envInteger('LOCAL_RANK') ?? rank };
}
