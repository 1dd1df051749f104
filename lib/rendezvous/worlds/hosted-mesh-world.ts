// The ids a Node world hands out, for either kind of mesh (the rendezvous server behind them is
// the same; only the id's scheme differs): getUniqueId starts a rendezvous server in this
// process, and under torchrun's MASTER_ADDR/MASTER_PORT rank 0 hosts it at that address. How
// long such a server lives: hosted-rendezvous.ts for getUniqueId's, addressServers below for
// rank 0's.
import type { WorldProvider } from '../../transport/world.js';
import { invalidArgument } from '../../errors.js';
import type { MeshOptions } from '../form-mesh.js';
import type { Transport } from '../../transport/transport.js';
import { secretForAddress } from '../address-secret.js';
import { listenHost } from '../socket-host.js';
import { hostRendezvous, joinHostedRendezvous } from '../hosted-rendezvous.js';
import { RendezvousServer } from '../rendezvous-server.js';
import { formatUniqueId, idScheme, parseUniqueId, type MeshTransport } from '../unique-id.js';

function optional<T>(value: unknown, type: 'string' | 'number', name: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== type) throw invalidArgument(`getUniqueId: option ${name} must be a ${type}`);
  return value as T;
}

/**
 * getUniqueId: a fresh rendezvous server here (options host, port and secret: a launcher whose
 * other nodes build the same id from the shared WEBCCL_SECRET), named for `transport`.
 */
export async function hostedRendezvousId(options: Readonly<Record<string, unknown>>, transport: MeshTransport): Promise<string> {
  const host = optional<string>(options['host'], 'string', 'host');
  const port = optional<number>(options['port'], 'number', 'port');
  const secret = optional<string>(options['secret'], 'string', 'secret');
  // Unreferenced: the server lives while ranks are connected, and never holds the process alone.
  const server = await RendezvousServer.start({
    ...(host === undefined ? {} : { host }), ...(port === undefined ? {} : { port }), ...(secret === undefined ? {} : { secret }), unref: true,
  });
  const id = formatUniqueId({ ...parseUniqueId(server.id), transport });
  hostRendezvous(id, server);
  return id;
}

/**
 * The servers rank 0 of this process hosts at a MASTER_ADDR:MASTER_PORT, by address, with the
 * secret each serves. Unlike getUniqueId's, they live as long as the process (unreferenced, so
 * they never hold it alone), as torchrun's agent store does: ranks may destroy their
 * communicators and init again at the same address (formation.ts tells the formations apart),
 * and a rank that comes back before rank 0 does must still find the store it joins.
 */
const addressServers = new Map<string, { readonly secret: string; readonly server: Promise<RendezvousServer> }>();

/** The id of the world whose rendezvous is at host:port; rank 0 hosts it (see addressServers). */
export async function rendezvousIdForAddress(host: string, port: number, rank: number, size: number, transport: MeshTransport): Promise<string> {
  const secret = await secretForAddress(host, port, size, listenHost());
  if (rank === 0) await hostAddressServer(host, port, secret);
  return formatUniqueId({ host, port, secret, transport });
}

async function hostAddressServer(host: string, port: number, secret: string): Promise<void> {
  const address = `${host}:${port}`;
  const hosted = addressServers.get(address);
  if (hosted?.secret === secret) {
    await hosted.server;
    return;
  }
  // Another world's secret (a new size, a new WEBCCL_SECRET): that store is done with.
  if (hosted) await hosted.server.then((server) => server.close(), () => undefined);
  const server = RendezvousServer.start({ host, port, secret, unref: true });
  addressServers.set(address, { secret, server });
  try {
    await server;
  } catch (error) {
    addressServers.delete(address);
    throw error;
  }
}

/** The provider of a Node world of `transport`'s id scheme: ids from a rendezvous server, ranks joined by `connectMesh`. */
export function hostedMeshWorld(transport: MeshTransport, connectMesh: (options: MeshOptions) => Promise<Transport>): WorldProvider {
  return {
    scheme: idScheme(transport),
    transport,
    createId: (options) => hostedRendezvousId(options, transport),
    idFromAddress: (host, port, rank, size) => rendezvousIdForAddress(host, port, rank, size, transport),
    connect: async (id, rank, size, { timeoutMs }) => {
      // A server hosted here for this id stays up while this rank's transport is open.
      const leave = joinHostedRendezvous(id);
      try {
        return await connectMesh({ id, rank, size, timeoutMs, onClose: leave });
      } catch (error) {
        leave();
        throw error;
      }
    },
  };
}
