// The `webccl+shm://` world (Node only): ranks on one host, joined through the same rendezvous
// as `webccl://` and `webccl+tcp://`, whose frames travel through the native addon's shm
// provider (lib/native/shm.ts) instead of sockets. Each rank creates an endpoint toward every
// peer, publishes their address blobs in the store, reads its peers' and connects; segment
// names carry the digest of the id's secret. Without the addon the provider is a stub whose
// every call says why ("shm transport unavailable: <reason>"), so that choosing shm is a clear
// error and nothing else changes.
import { asWebcclError, invalidArgument, systemError } from '../../errors.js';
import { logger } from '../../log.js';
import { readSettings } from '../../settings.js';
import { describeUnavailable, loadNative, type NativeLoad } from '../../native/load.js';
import { withDeadline } from '../../transport/deadline.js';
import { FramedTransport } from '../../transport/framed/framed-transport.js';
import { nodeWebSocket } from '../../transport/handshake/node-web-socket.js';
import { ShmMesh, shmLimits, SHM_DESCRIPTION } from '../../transport/shm/shm-mesh.js';
import type { Transport } from '../../transport/transport.js';
import { checkWorldShape } from '../../transport/world-shape.js';
import type { WorldProvider } from '../../transport/world.js';
import type { MeshOptions } from '../form-mesh.js';
import { StoreClient } from '../store-client.js';
import { idScheme, parseUniqueId } from '../unique-id.js';
import { hostedMeshWorld } from './hosted-mesh-world.js';

export type ShmMeshOptions = Omit<MeshOptions, 'host'>;

/** The store key under which a rank publishes its endpoints' addresses (JSON: peer → blob). */
export function shmAddressKey(world: string, size: number, rank: number): string {
  return `webccl/${world}/${size}/shm-addresses/${rank}`;
}

/**
 * Joins the shm world `options.id` names, as `options.rank` of `options.size`, through the
 * addon `load` found (default: the package's own build); SystemError if there is none.
 */
export async function connectShmMesh(options: ShmMeshOptions, load: NativeLoad = loadNative()): Promise<Transport> {
  const { rank, size } = options;
  checkWorldShape('shm mesh', rank, size);
  if (!('addon' in load)) throw systemError(`init: ${unavailable(load)}`);
  const { addon } = load;
  const { secret } = parseUniqueId(options.id);
  const timeoutMs = options.timeoutMs ?? readSettings().timeoutMs;
  const world = options.world ?? 'world';
  const limits = shmLimits(options.limits);
  const log = logger('NET', rank);

  let mesh: ShmMesh | undefined;
  const transport = new FramedTransport({
    rank, size, limits, description: SHM_DESCRIPTION, routeTo: () => rank, poisonReleased: options.poisonReleased,
    release: () => {
      mesh?.destroy();
      options.onClose?.();
    },
  });
  let store: StoreClient | undefined;
  try {
    mesh = new ShmMesh(addon, secret, rank, size, world, limits);
    store = await StoreClient.connect({ id: options.id, WebSocket: nodeWebSocket(limits), timeoutMs, who: `rank ${rank}` });
    const joined = store;
    await joined.set(shmAddressKey(world, size, rank), JSON.stringify(mesh.addresses()));
    const connected = new Set<number>();
    const peers = Array.from({ length: size }, (_, peer) => peer).filter((peer) => peer !== rank);
    await withDeadline(Promise.all(peers.map(async (peer) => {
      const addresses = parseAddresses(await joined.getString(shmAddressKey(world, size, peer), timeoutMs), peer);
      const address = addresses[rank];
      if (typeof address !== 'string') throw systemError(`rank ${peer} published no shm address for rank ${rank}`);
      mesh!.connect(peer, address, transport);
      connected.add(peer);
    })), timeoutMs, () => `rank ${rank}: shm mesh not formed within ${timeoutMs} ms; missing peers ${peers.filter((p) => !connected.has(p)).join(', ')}`);
    log.info(`shm mesh of ${size} formed`);
    return transport;
  } catch (error) {
    await transport.close();
    mesh?.destroy();
    throw asWebcclError(error, 'SystemError', `rank ${rank}: shm mesh`);
  } finally {
    store?.close();
  }
}

function parseAddresses(text: string, peer: number): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw systemError(`rank ${peer}'s shm addresses in the store are not a JSON object`);
}

function unavailable(load: NativeLoad): string {
  return `shm transport ${describeUnavailable(load) ?? 'unavailable'}`;
}

/** The shm world's provider: the real one when the addon loaded, else a stub that says why not. */
export function nodeShmWorld(load: NativeLoad): WorldProvider {
  if ('addon' in load) return hostedMeshWorld('shm', (options) => connectShmMesh(options, load));
  const why = unavailable(load);
  return {
    scheme: idScheme('shm'),
    transport: 'shm',
    createId: () => Promise.reject(invalidArgument(`getUniqueId: ${why}`)),
    idFromAddress: () => Promise.reject(invalidArgument(`fromEnv: ${why}`)),
    connect: () => Promise.reject(systemError(`init: ${why}`)),
  };
}
