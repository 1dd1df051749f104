// The launcher hosts the job's rendezvous, as torchrun's agent does: it starts webccl's store on
// the MASTER_PORT it hands out and passes the world id (with its secret) as WEBCCL_ID, which
// Communicator.fromEnv() prefers. The ranks then need nothing but the environment; the id's
// scheme tells them which mesh to form (decided here, once, not by each rank). The secret is
// fresh and random for every launch (never derived from the address, which any local user can
// see), and is also passed as WEBCCL_SECRET, for whatever in the ranks builds its own id.
import { getUniqueId } from '../../lib/index.node.js';
import { parseUniqueId, type MeshTransport } from '../../lib/rendezvous/unique-id.js';
import { transportNamed, transportSetting } from '../../lib/transport/registry.js';
import { findFreePort } from './launch.js';

export interface HostedRendezvous {
  readonly masterAddr: string;
  readonly masterPort: number;
  readonly env: Record<string, string>;
}

export interface RendezvousPlan {
  /** The mesh the ranks form; default WEBCCL_TRANSPORT when it names one, else websocket. */
  readonly transport?: MeshTransport;
  readonly masterAddr?: string | undefined;
  /** A fixed port; by default a free one. */
  readonly masterPort?: number | undefined;
}

export async function hostRendezvous(plan: RendezvousPlan = {}): Promise<HostedRendezvous> {
  const setting = transportSetting();
  const transport = plan.transport ?? (transportNamed(setting)?.rendezvous ? setting : 'websocket');
  const masterAddr = plan.masterAddr ?? '127.0.0.1';
  const port = plan.masterPort ?? await findFreePort(masterAddr);
  const id = await getUniqueId({ transport, host: masterAddr, port });
  return { masterAddr, masterPort: port, env: { WEBCCL_ID: id, WEBCCL_SECRET: parseUniqueId(id).secret } };
}
