// The `webccl+shm://` world (Node only): ranks on one host, joined through the same rendezvous
// as `webccl://` and `webccl+tcp://`, whose frames travel through the native addon's shm
// provider (lib/native/shm.ts) instead of sockets. Each rank creates an endpoint toward every
// peer, publishes their address blobs in the store, reads its peers' and connects; segment
// names carry the digest of the id's secret. Without the addon the provider is a stub whose
// every call says why ("shm transport unavailable: <reason>"), so that choosing shm is a clear
// error and nothing else changes. The `webccl+ntcp://` world (ntcp-world.ts) forms the same
// mesh over the addon's native tcp provider through connectNativeMesh and nativeWorld below.
import { asWebcclError, invalidArgument, systemError } from '../../errors.js';
import { logger } from '../../log.js';
import { readSettings } from '../../settings.js';
import { describeUnavailable, loadNative, type NativeLoad } from '../../native/load.js';
import { withDeadline } from '../../transport/deadline.js';
import { FramedTransport } from '../../transport/framed/framed-transport.js';
import { nodeWebSocket } from '../../transport/handshake/node-web-socket.js';
import type { NativeProvider } from '../../native/shm.js';
import { ShmBoardHost } from '../../transport/shm/shm-board.js';
import { ShmMesh, meshChunkBytes, ntcpMeshThresholdBytes, worldTag, shmLimits, shmReceiveLimits, shmSingleCopyBytes, SHM_DESCRIPTION } from '../../transport/shm/shm-mesh.js';
import type { Transport } from '../../transport/transport.js';
import { checkWorldShape } from '../../transport/world-shape.js';
import type { WorldProvider } from '../../transport/world.js';
import type { MeshOptions } from '../form-mesh.js';
import { formationWorld } from '../formation.js';
import { StoreClient } from '../store-client.js';
import { idScheme, parseUniqueId } from '../unique-id.js';
import { hostedMeshWorld } from './hosted-mesh-world.js';

export type ShmMeshOptions = Omit<MeshOptions, 'host'>;

/** The store key under which a rank publishes its endpoints' addresses (JSON: peer → blob). */
export function shmAddressKey(world: string, size: number, rank: number, transport = 'shm'): string {
  return `webccl/${world}/${size}/${transport}-addresses/${rank}`;
}

/** Which native provider a mesh runs on, and how its transport is named. */
export interface NativeMeshKind {
  readonly transport: string;
  readonly description: string;
  readonly provider: NativeProvider;
}

const SHM_KIND: NativeMeshKind = { transport: 'shm', description: SHM_DESCRIPTION, provider: { kind: 'shm' } };

/**
 * Joins the shm world `options.id` names, as `options.rank` of `options.size`, through the
 * addon `load` found (default: the package's own build); SystemError if there is none.
 */
export function connectShmMesh(options: ShmMeshOptions, load: NativeLoad = loadNative()): Promise<Transport> {
  return connectNativeMesh(options, load, SHM_KIND);
}

/** A mesh of `kind`'s native provider: endpoints' address blobs exchanged through the store. */
export async function connectNativeMesh(options: ShmMeshOptions, load: NativeLoad, kind: NativeMeshKind): Promise<Transport> {
  const { rank, size } = options;
  const name = kind.transport;
  checkWorldShape(`${name} mesh`, rank, size);
  if (!('addon' in load)) throw systemError(`init: ${unavailable(load, name)}`);
  const { addon } = load;
  const { secret } = parseUniqueId(options.id);
  const timeoutMs = options.timeoutMs ?? readSettings().timeoutMs;
  const limits = shmLimits(options.limits, kind.provider);
  const singleCopyBytes = shmSingleCopyBytes();
  const log = logger('NET', rank);

  let mesh: ShmMesh | undefined;
  let transport: FramedTransport | undefined;
  let store: StoreClient | undefined;
  try {
    store = await StoreClient.connect({ id: options.id, WebSocket: nodeWebSocket(limits), timeoutMs, who: `rank ${rank}` });
    const joined = store;
    const world = await formationWorld(joined, name, options.world ?? 'world', size);
    // Only the shm provider's ranks share one host's memory (ntcp's may be anywhere); an addon
    // built before the board existed offers none (the board algorithm then refuses, auto passes it by).
    const board = kind.provider.kind === 'shm' && addon.Board !== undefined ? new ShmBoardHost(addon, secret, worldTag(world, size)) : undefined;
    const formed = transport = new FramedTransport({
      rank, size, limits: shmReceiveLimits(limits, kind.provider), description: kind.description,
      chunkBytes: meshChunkBytes(kind.provider.kind, size),
      // Only the shm provider reads by reference (ntcp's large sends are zero-copy on one side, no ack).
      referenceBytes: kind.provider.kind === 'shm' && Number.isFinite(singleCopyBytes) ? singleCopyBytes : undefined, routeTo: () => rank, poisonReleased: options.poisonReleased, board,
      release: () => {
        board?.close();
        mesh?.destroy();
        options.onClose?.();
      },
    });
    mesh = new ShmMesh(addon, secret, rank, size, world, limits, kind.provider);
    await joined.set(shmAddressKey(world, size, rank, name), JSON.stringify(mesh.addresses()));
    const connected = new Set<number>();
    const peerAddresses: string[] = [];
    const peers = Array.from({ length: size }, (_, peer) => peer).filter((peer) => peer !== rank);
    await withDeadline(Promise.all(peers.map(async (peer) => {
      const addresses = parseAddresses(await joined.getString(shmAddressKey(world, size, peer, name), timeoutMs), peer, name);
      const address = addresses[rank];
      if (typeof address !== 'string') throw systemError(`rank ${peer} published no ${name} address for rank ${rank}`);
      mesh!.connect(peer, address, formed, timeoutMs);
      peerAddresses.push(address);
      connected.add(peer);
    })), timeoutMs, () => `rank ${rank}: ${name} mesh not formed within ${timeoutMs} ms; missing peers ${peers.filter((p) => !connected.has(p)).join(', ')}`);
    // Before init proposes the configuration: whether the peers are on this host sets ntcp's mesh threshold.
    if (kind.provider.kind === 'tcp') formed.meshThresholdBytes = ntcpMeshThresholdBytes(Object.values(mesh.addresses())[0] ?? '', peerAddresses);
    log.info(`${name} mesh of ${size} formed`);
    return formed;
  } catch (error) {
    await transport?.close();
    mesh?.destroy();
    throw asWebcclError(error, 'SystemError', `rank ${rank}: ${name} mesh`);
  } finally {
    store?.close();
  }
}

function parseAddresses(text: string, peer: number, name: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw systemError(`rank ${peer}'s ${name} addresses in the store are not a JSON object`);
}

function unavailable(load: NativeLoad, name: string): string {
  return `${name} transport ${describeUnavailable(load) ?? 'unavailable'}`;
}

/** The shm world's provider: the real one when the addon loaded, else a stub that says why not. */
export function nodeShmWorld(load: NativeLoad): WorldProvider {
  // A board where the transport opens one (connectNativeMesh): an addon built with it.
  const board = 'addon' in load && load.addon.Board !== undefined;
  return nativeWorld('shm', load, (options, addon) => connectShmMesh(options, addon), { chunkBytes: (size) => meshChunkBytes('shm', size), ...(board && { board: true as const }) });
}

/** What a native world's transports propose, known before any world is joined (what --explain prices with). */
export type WorldProposals = Pick<WorldProvider, 'chunkBytes' | 'board' | 'localMeshThresholdBytes'>;

/**
 * A native world's provider: `connect` when the addon loaded, else a stub whose every call says
 * why not; either way with its `proposals`.
 */
export function nativeWorld(name: string, load: NativeLoad, connect: (options: MeshOptions, load: NativeLoad) => Promise<Transport>, proposals: WorldProposals): WorldProvider {
  if ('addon' in load) return { ...hostedMeshWorld(name, (options) => connect(options, load)), ...proposals };
  const why = unavailable(load, name);
  return {
    scheme: idScheme(name),
    transport: name,
    ...proposals,
    createId: () => Promise.reject(invalidArgument(`getUniqueId: ${why}`)),
    idFromAddress: () => Promise.reject(invalidArgument(`fromEnv: ${why}`)),
    connect: () => Promise.reject(systemError(`init: ${why}`)),
  };
}
