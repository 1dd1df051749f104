// How a full mesh forms, whatever carries its connections (websocket or raw tcp): each rank
// listens, publishes host:port in the rendezvous store, and dials every lower rank (so each
// pair has exactly one connection); every connection opens with a hello carrying the id's
// secret. A MeshKind supplies the sockets; this file supplies the order, the deadline and the
// cleanup when any of it fails.
import { asWebcclError } from '../errors.js';
import { logger } from '../log.js';
import { readSettings } from '../settings.js';
import { HELLO_TIMEOUT_MS } from '../transport/handshake/hello-gate.js';
import { nodeWebSocket } from '../transport/handshake/node-web-socket.js';
import { formationWorld } from './formation.js';
import { StoreClient } from './store-client.js';
import { hostForUrl, parseUniqueId } from './unique-id.js';
import { socketHosts } from './socket-host.js';
import { withDeadline } from '../transport/deadline.js';
import { FramedTransport } from '../transport/framed/framed-transport.js';
import { withLimits, type WireLimits } from '../transport/framed/limits.js';
import { checkWorldShape } from '../transport/world-shape.js';
import type { MeshKind, MeshListening } from '../transport/mesh/mesh-kind.js';

/** What a caller says about the mesh it joins (the same for every kind of mesh). */
export interface MeshOptions {
  /** The unique id of a running rendezvous server (its scheme names the kind of mesh). */
  readonly id: string;
  readonly rank: number;
  readonly size: number;
  /** Interface to listen on and advertise: option, else socket-host.ts's choice (WEBCCL_SOCKET_HOST, WEBCCL_SOCKET_IFNAME). */
  readonly host?: string;
  /** Deadline for the whole mesh to form (default WEBCCL_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** Separates several worlds that share one rendezvous server (default 'world'). */
  readonly world?: string;
  readonly limits?: Partial<WireLimits>;
  /** See FramedTransportOptions.poisonReleased. */
  readonly poisonReleased?: boolean;
  /** Called once when the transport closes, or when the mesh fails to form (releases what the caller holds for it). */
  readonly onClose?: () => void;
}

/** The store key under which a rank publishes the host:port its `kind` of mesh listens on. */
export function meshAddressKey(kind: MeshKind['addressKind'], world: string, size: number, rank: number): string {
  return `webccl/${world}/${size}/${kind}-address/${rank}`;
}

export async function formMesh(options: MeshOptions, kind: MeshKind): Promise<FramedTransport> {
  const { rank, size } = options;
  checkWorldShape(kind.name, rank, size);
  const { secret } = parseUniqueId(options.id);
  const { listen, advertise } = options.host !== undefined ? { listen: options.host, advertise: options.host } : socketHosts();
  const timeoutMs = options.timeoutMs ?? readSettings().timeoutMs;
  const limits = withLimits(options.limits);
  const log = logger('NET', rank);

  let listening: MeshListening | undefined;
  const transport = new FramedTransport({
    rank, size, limits, description: kind.description, routeTo: () => rank, poisonReleased: options.poisonReleased,
    release: () => {
      listening?.stop();
      options.onClose?.();
    },
  });
  const connected = new Set<number>();
  let allConnected!: () => void;
  const ready = new Promise<void>((resolve) => { allConnected = resolve; });
  const attached = (peer: number) => {
    connected.add(peer);
    if (connected.size === size - 1) allConnected();
  };
  if (size === 1) allConnected();

  const store = await StoreClient.connect({ id: options.id, WebSocket: nodeWebSocket(limits), timeoutMs, who: `rank ${rank}` });
  try {
    const world = await formationWorld(store, kind.addressKind, options.world ?? 'world', size);
    const helloTimeoutMs = Math.min(timeoutMs, HELLO_TIMEOUT_MS);
    const sockets = kind.sockets({ identity: { rank, size, world, secret }, host: listen, timeoutMs, helloTimeoutMs, limits, log, transport });
    listening = await sockets.listen(attached);
    const address = `${hostForUrl(advertise)}:${listening.port}`;
    await store.set(meshAddressKey(kind.addressKind, world, size, rank), address);
    log.info(`${kind.name}: listening on ${address}; dialling ranks 0..${rank - 1}`);
    const dialled = Array.from({ length: rank }, async (_, peer) => {
      const peerAddress = await store.getString(meshAddressKey(kind.addressKind, world, size, peer), timeoutMs);
      await sockets.dial(peer, peerAddress, { t: 'hello', secret, role: 'mesh', world, rank, size, to: peer });
      attached(peer);
    });
    await withDeadline(Promise.all([...dialled, ready]), timeoutMs, () =>
      `rank ${rank}: ${kind.name} not formed within ${timeoutMs} ms; missing peers ${missing(size, rank, connected).join(', ')}`);
    listening.stop();
    log.info(`mesh of ${size} formed (${transport.description})`);
    return transport;
  } catch (error) {
    await transport.close();
    listening?.stop();
    throw asWebcclError(error, 'SystemError', `rank ${rank}: ${kind.name}`);
  } finally {
    store.close();
  }
}

function missing(size: number, rank: number, connected: Set<number>): number[] {
  return Array.from({ length: size }, (_, peer) => peer).filter((peer) => peer !== rank && !connected.has(peer));
}
