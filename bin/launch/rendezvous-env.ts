// The launcher hosts the job's rendezvous, as torchrun's agent does: it starts webccl's store on
// the MASTER_PORT it hands out and passes the world id (with its secret) as WEBCCL_ID, which
// Communicator.fromEnv() prefers. The ranks then need nothing but the environment; the id's
// scheme tells them which mesh to form (decided here, once, not by each rank). The secret is
// fresh and random for every launch (never derived from the address, which any local user can
// see), and is also passed as WEBCCL_SECRET, for whatever in the ranks builds its own id.
import { getUniqueId } from '../../lib/index.node.js';
import { formatUniqueId, parseUniqueId, type MeshTransport } from '../../lib/rendezvous/unique-id.js';
import { checkSecret } from '../../lib/rendezvous/address-secret.js';
import { readSecurity } from '../../lib/settings.js';
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
  /** A job over several hosts: node 0 hosts the rendezvous, the others only name it; they share WEBCCL_SECRET. */
  readonly node?: { readonly rank: number; readonly count: number } | undefined;
}

export async function hostRendezvous(plan: RendezvousPlan = {}): Promise<HostedRendezvous> {
  const setting = transportSetting();
  const transport = plan.transport ?? (transportNamed(setting)?.rendezvous ? setting : 'websocket');
  const masterAddr = plan.masterAddr ?? '127.0.0.1';
  const port = plan.masterPort ?? await findFreePort(masterAddr);
  const id = plan.node !== undefined && plan.node.count > 1
    ? await multiHostId(transport, masterAddr, port, plan.node.rank)
    : await getUniqueId({ transport, host: masterAddr, port });
  return { masterAddr, masterPort: port, env: { WEBCCL_ID: id, WEBCCL_SECRET: parseUniqueId(id).secret } };
}

/** Every host's launcher builds the same id from the shared secret; node 0's also hosts the rendezvous. */
async function multiHostId(transport: MeshTransport, host: string, port: number, nodeRank: number): Promise<string> {
  const { secret } = readSecurity();
  if (secret === undefined) {
    throw new Error('a job over several hosts needs the same WEBCCL_SECRET on every host: run `export WEBCCL_SECRET=$(openssl rand -hex 16)` once and pass that value to each');
  }
  checkSecret(secret, 'WEBCCL_SECRET');
  return nodeRank === 0 ? getUniqueId({ transport, host, port, secret }) : formatUniqueId({ host, port, secret, transport });
}
