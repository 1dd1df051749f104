// A full mesh of `ws` connections between the ranks of a world (Node). Each rank listens,
// publishes host:port in the rendezvous store, and dials every lower rank (so each pair has
// exactly one connection); every connection opens with a hello carrying the id's secret.
import type { WebSocket } from 'ws';
import { asWebcclError, invalidArgument } from '../../errors.js';
import { logger } from '../../log.js';
import { readEnv, readSettings } from '../../settings.js';
import { nodeWebSocket } from '../../rendezvous/node-web-socket.js';
import { openSession } from '../../rendezvous/open-session.js';
import { StoreClient } from '../../rendezvous/store-client.js';
import { hostForUrl, parseUniqueId } from '../../rendezvous/unique-id.js';
import type { Transport } from '../transport.js';
import { websocketDescription } from './bufferutil-status.js';
import { FramedTransport } from './framed-transport.js';
import { maxWebSocketPayload, withLimits, type WireLimits } from './limits.js';
import { MeshListener } from './mesh-listener.js';
import { meshWebSocket } from './mesh-web-socket.js';
import { SplitFrameReader } from './split-frames.js';
import { WsChannel } from './ws-channel.js';
import { withDeadline } from './deadline.js';

export interface WebSocketMeshOptions {
  /** The unique id: webccl://host:port/secret of a running rendezvous server. */
  readonly id: string;
  readonly rank: number;
  readonly size: number;
  /** Interface to listen on and advertise: option, else WEBCCL_SOCKET_HOST, else 127.0.0.1. */
  readonly host?: string;
  /** Deadline for the whole mesh to form (default WEBCCL_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** Separates several worlds that share one rendezvous server (default 'world'). */
  readonly world?: string;
  readonly limits?: Partial<WireLimits>;
}

export async function connectWebSocketMesh(options: WebSocketMeshOptions): Promise<Transport> {
  const { rank, size } = options;
  if (!Number.isInteger(size) || size < 1) throw invalidArgument(`websocket mesh: size ${size} is not a positive integer`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw invalidArgument(`websocket mesh: rank ${rank} is not in 0..${size - 1}`);
  const { secret } = parseUniqueId(options.id);
  const host = options.host ?? readEnv('WEBCCL_SOCKET_HOST') ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? readSettings().timeoutMs;
  const world = options.world ?? 'world';
  const limits = withLimits(options.limits);
  const log = logger('NET', rank);
  const WebSocketClass = nodeWebSocket(limits);
  const identity = { rank, size, world, secret };

  let listener: MeshListener | undefined;
  const transport = new FramedTransport({
    rank, size, limits, description: websocketDescription(), routeTo: () => rank, release: () => listener?.stop(),
  });
  const connected = new Set<number>();
  let allConnected!: () => void;
  const ready = new Promise<void>((resolve) => { allConnected = resolve; });
  const adopt = (peer: number, socket: WebSocket) => {
    transport.attach(peer, new WsChannel(socket, peer, transport));
    connected.add(peer);
    if (connected.size === size - 1) allConnected();
  };
  if (size === 1) allConnected();

  const store = await StoreClient.connect({ id: options.id, WebSocket: WebSocketClass, timeoutMs, who: `rank ${rank}` });
  try {
    listener = await MeshListener.listen(host, maxWebSocketPayload(limits), identity, timeoutMs, log, (peer, socket) => {
      socket.on('message', receiver(transport, peer));
      socket.on('close', (code, reason) => transport.connectionLost(peer, code, reason.toString()));
      adopt(peer, socket);
    });
    const address = `${hostForUrl(host)}:${listener.port}`;
    await store.set(meshAddressKey(world, size, rank), address);
    log.info(`listening on ${address}; dialling ranks 0..${rank - 1}`);
    const dialled = Array.from({ length: rank }, async (_, peer) => {
      const peerAddress = await store.getString(meshAddressKey(world, size, peer), timeoutMs);
      const onFrameMessage = receiver(transport, peer);
      const socket = await openSession({
        WebSocket: meshWebSocket(limits), url: `ws://${peerAddress}/`, timeoutMs, who: `rank ${rank} dialling rank ${peer}`, binaryType: 'nodebuffer',
        hello: { t: 'hello', secret, role: 'mesh', world, rank, size, to: peer },
        onMessage: (data) => onFrameMessage(data, typeof data !== 'string'),
        onClose: (code, reason) => transport.connectionLost(peer, code, reason),
      });
      adopt(peer, socket as unknown as WebSocket);
    });
    await withDeadline(Promise.all([...dialled, ready]), timeoutMs, () =>
      `rank ${rank}: websocket mesh not formed within ${timeoutMs} ms; missing peers ${missing(size, rank, connected).join(', ')}`);
    listener.stop();
    log.info(`mesh of ${size} formed (${transport.description})`);
    return transport;
  } catch (error) {
    await transport.close();
    listener?.stop();
    throw asWebcclError(error, 'SystemError', `rank ${rank}: websocket mesh`);
  } finally {
    store.close();
  }
}

/** Feeds one connection's messages to the transport as frames (see split-frames.ts). */
function receiver(transport: FramedTransport, peer: number): (data: unknown, isBinary: boolean) => void {
  const reader = new SplitFrameReader();
  return (data, isBinary) => {
    // A text message after the hello is as much garbage as a bad frame; an empty view fails decoding.
    const frame = reader.accept(isBinary ? data as Uint8Array : new Uint8Array(0));
    if (frame) transport.receiveFrame(frame.bytes, peer, frame.payload);
  };
}

/** The store key under which a rank publishes its host:port. */
export function meshAddressKey(world: string, size: number, rank: number): string {
  return `webccl/${world}/${size}/mesh-address/${rank}`;
}

function missing(size: number, rank: number, connected: Set<number>): number[] {
  return Array.from({ length: size }, (_, peer) => peer).filter((peer) => peer !== rank && !connected.has(peer));
}
