// The launcher hosts the job's rendezvous, as torchrun's agent does: it starts webccl's store on
// the MASTER_PORT it hands out and passes the world id (with its secret) as WEBCCL_ID, which
// Communicator.fromEnv() prefers. The ranks then need nothing but the environment.
import { getUniqueId } from '../lib/index.node.js';
import { findFreePort } from './launch.js';

export interface HostedRendezvous {
  readonly masterAddr: string;
  readonly masterPort: number;
  readonly env: Record<string, string>;
}

export async function hostRendezvous(masterAddr = '127.0.0.1', masterPort?: number): Promise<HostedRendezvous> {
  const port = masterPort ?? await findFreePort(masterAddr);
  const id = await getUniqueId({ transport: 'websocket', host: masterAddr, port });
  return { masterAddr, masterPort: port, env: { WEBCCL_ID: id } };
}
