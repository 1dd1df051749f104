// The browser's transport: a page cannot listen, so every rank keeps one WebSocket to the
// rendezvous server, which relays frames (the frame's route field names the destination on the
// way in and the source on the way out). Platform-neutral: in Node, pass the `ws` constructor.
import { asWebcclError, invalidArgument, systemError } from '../errors.js';
import { readSettings } from '../settings.js';
import { openSession } from '../transport/handshake/open-session.js';
import { RELAY_PATH, type RelayNotice } from './relay-notice.js';
import { hostForUrl, parseUniqueId, rendezvousUrl } from './unique-id.js';
import { globalWebSocket, type WebSocketConstructor } from '../transport/handshake/web-socket-like.js';
import type { Transport } from '../transport/transport.js';
import { withDeadline } from '../transport/deadline.js';
import { FramedTransport } from '../transport/framed/framed-transport.js';
import { maxFrameBytes, withLimits, type WireLimits } from '../transport/framed/limits.js';
import { checkWorldShape } from '../transport/world-shape.js';
import { formationWorld } from './formation.js';
import { StoreClient } from './store-client.js';
import { SocketChannel } from '../transport/websocket/socket-channel.js';
import type { FrameChannel } from '../transport/framed/frame-channel.js';
import type { Hello } from '../transport/handshake/handshake.js';

export interface RelayTransportOptions {
  /** The unique id: webccl+relay:// (or webccl://) host:port/secret of the rendezvous server that relays. */
  readonly id: string;
  readonly rank: number;
  readonly size: number;
  /** Deadline for every rank to join (default WEBCCL_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** Separates several worlds that share one server (default 'world'). */
  readonly world?: string;
  /** Defaults to the global WebSocket (browsers); in Node pass nodeWebSocket(). */
  readonly WebSocket?: WebSocketConstructor;
  readonly limits?: Partial<WireLimits>;
  /** Called once when the transport closes, or when joining fails (releases what the caller holds for it). */
  readonly onClose?: () => void;
  /**
   * Opens the relay connection itself where the server speaks ws:// (Node: on the raw socket,
   * relay-stream-client.ts); absent, or for a wss:// server, the WebSocket above does.
   */
  readonly dial?: RelayDial;
}

/** What a RelayDial gets: where to, what to say, and where the frames and notices go. */
export interface RelayDialOptions {
  /** host:port of the rendezvous server (IPv6 hosts in brackets). */
  readonly address: string;
  readonly hello: Hello;
  readonly timeoutMs: number;
  /** Names the caller in errors. */
  readonly who: string;
  /** The most bytes one binary message may carry (a webccl frame: maxFrameBytes). */
  readonly maxFramePayload: number;
  /** Frames go in here, and it hears of the connection's loss. */
  readonly transport: FramedTransport;
  /** The relay's text messages (relay-notice.ts). */
  readonly notice: (text: string) => void;
}

/** Opens a relay connection on RELAY_PATH and resolves, once welcomed, with its channel to every peer. */
export type RelayDial = (options: RelayDialOptions) => Promise<FrameChannel>;

export async function connectRelay(options: RelayTransportOptions): Promise<Transport> {
  const { rank, size } = options;
  checkWorldShape('relay transport', rank, size);
  const WebSocket = options.WebSocket ?? globalWebSocket();
  if (!WebSocket) throw invalidArgument('relay transport: no global WebSocket here; pass one (in Node: nodeWebSocket())');
  const parsed = parseUniqueId(options.id);
  const timeoutMs = options.timeoutMs ?? readSettings().timeoutMs;
  const limits = withLimits(options.limits);
  const transport = new FramedTransport({
    rank, size, limits, description: 'websocket(relay)', routeTo: (peer) => peer, ...(options.onClose ? { release: options.onClose } : {}),
  });

  let everyoneJoined!: () => void;
  const ready = new Promise<void>((resolve) => { everyoneJoined = resolve; });
  const onNotice = (text: string) => {
    let notice: RelayNotice;
    try {
      notice = JSON.parse(text) as RelayNotice;
    } catch {
      return transport.everyPeerFailed(systemError(`rank ${rank}: the relay sent a text message that is not a notice`));
    }
    if (notice.t === 'ready') {
      // The switch is reached where the server is: UDP on its port, the door on the server's URL.
      if (Number.isInteger(notice.switchPort)) {
        transport.hostedSwitch = { address: `${hostForUrl(parsed.host)}:${notice.switchPort},${rendezvousUrl(parsed)}`, secret: parsed.secret };
      }
      everyoneJoined();
    }
    else transport.connectionLost(notice.rank, notice.code, `via the relay${notice.reason ? `: ${notice.reason}` : ''}`);
  };

  try {
    // Which formation of the world this is (formation.ts): the relay's worlds are named per
    // formation too, so that a rank that comes back early is not seated beside the last one's.
    const store = await StoreClient.connect({ id: options.id, WebSocket, timeoutMs, who: `rank ${rank}` });
    let world: string;
    try {
      world = await formationWorld(store, 'relay', options.world ?? 'world', size);
    } finally {
      store.close();
    }
    const hello: Hello = { t: 'hello', secret: parsed.secret, role: 'relay', world, rank, size };
    const who = `rank ${rank} relay client`;
    let channel: FrameChannel;
    if (options.dial && !parsed.tls) {
      channel = await options.dial({ address: `${hostForUrl(parsed.host)}:${parsed.port}`, hello, timeoutMs, who, maxFramePayload: maxFrameBytes(limits), transport, notice: onNotice });
    } else {
      const socket = await openSession({
        WebSocket, url: new URL(RELAY_PATH, rendezvousUrl(parsed)).href, timeoutMs, who, hello,
        onMessage: (data) => {
          if (typeof data === 'string') onNotice(data);
          else transport.receiveFrame(new Uint8Array(data as ArrayBuffer), undefined);
        },
        onClose: (code, reason) => transport.everyPeerFailed(systemError(`rank ${rank}: relay connection closed (${code}${reason ? `: ${reason}` : ''})`)),
      });
      channel = new SocketChannel(socket, rank, limits.sendHighWaterBytes);
    }
    for (let peer = 0; peer < size; peer++) if (peer !== rank) transport.attach(peer, channel);
    await withDeadline(ready, timeoutMs, () => `rank ${rank}: not every rank of ${size} joined the relay within ${timeoutMs} ms`);
    return transport;
  } catch (error) {
    await transport.close();
    throw asWebcclError(error, 'SystemError', `rank ${rank}: relay transport`);
  }
}
