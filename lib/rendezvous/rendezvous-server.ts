// The rendezvous server (Node only): the key-value store and the browser relay behind one
// WebSocket port, like torch's TCPStore. Started in-process by rank 0 (getUniqueId) or
// standalone with `webccl serve`. Every connection must open with a hello carrying the secret.
// With `switch` (`webccl serve --switch`) it also hosts a SwitchML switch for its relay worlds:
// the switch's UDP data plane on a port of its own, its WebSocket door on this server's port
// (a hello with role 'switch' is a worker's join), the same secret; a world's 'ready' notice
// names the UDP port, so ranks need no switch address of their own.
import { WebSocketServer, type WebSocket } from '../transport/handshake/ws-package.js';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { systemError } from '../errors.js';
import { logger } from '../log.js';
import { maxFrameBytes, withLimits, type WireLimits } from '../transport/framed/limits.js';
import { CLOSE_BAD_HELLO, WELCOME } from '../transport/handshake/handshake.js';
import { awaitHello, HELLO_TIMEOUT_MS, type HelloGate } from '../transport/handshake/hello-gate.js';
import { KeyValueStore } from './key-value-store.js';
import { guardListener } from '../transport/handshake/listener-guards.js';
import { PendingHellos } from '../transport/handshake/pending-hellos.js';
import { RelayHub } from './relay-hub.js';
import { RELAY_PATH } from './relay-notice.js';
import { acceptRelayStream, type RelayStreamContext } from './relay-stream.js';
import { joinRelayWithWebSocket } from './relay-ws-member.js';
import { listenHost } from './socket-host.js';
import { serveStore } from './store-session.js';
import { listenForUpgrades, type TlsFiles } from '../transport/handshake/upgrade-server.js';
import { webSocketDoor } from '../transport/handshake/web-socket-door.js';
import { WS_SOCKET_OPTIONS } from '../transport/handshake/ws-options.js';
import { formatUniqueId, generateSecret } from './unique-id.js';
import { SwitchServer, type SwitchServerOptions } from '../switch/switch-server.js';

const log = logger('STORE');

export interface RendezvousServerOptions {
  /** Interface to listen on: option, else WEBCCL_SOCKET_HOST, else WEBCCL_SOCKET_IFNAME's address, else 127.0.0.1. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Reuse a known secret (e.g. one given to a standalone server); a fresh one otherwise. */
  readonly secret?: string;
  /** How long a connection may stay silent before its hello (default 5 s). */
  readonly helloTimeoutMs?: number;
  readonly limits?: Partial<WireLimits>;
  /**
   * Never keep the process alive, neither by listening nor by a connection (the in-process
   * servers of getUniqueId and of rank 0: the process lives as long as its ranks do, and a
   * stranger's open connection must not hold it after they are gone).
   */
  readonly unref?: boolean;
  /** Serve wss:// with this certificate and key (ids then carry `+tls`); plain ws:// otherwise. */
  readonly tls?: TlsFiles;
  /** Host a switch too (its port: 0, the default, picks a free one; its host and secret are the server's). */
  readonly switch?: Omit<SwitchServerOptions, 'host' | 'secret' | 'webSocketPort'>;
}

export class RendezvousServer {
  private readonly store = new KeyValueStore();
  private readonly relay: RelayHub;
  private readonly pending = new PendingHellos();
  /** The relay's own path (relay-stream.ts): its context, and the sockets it reads. */
  private readonly relayStreams: RelayStreamContext;
  private readonly streams = new Set<Socket>();

  private constructor(
    private readonly http: Server,
    private readonly server: WebSocketServer,
    readonly host: string,
    readonly port: number,
    private readonly secret: string,
    private readonly helloTimeoutMs: number,
    limits: WireLimits,
    private readonly tls: boolean,
    /** The switch this server hosts, if it hosts one. */
    readonly hostedSwitch: SwitchServer | undefined,
  ) {
    this.relay = new RelayHub(limits, hostedSwitch?.port);
    this.relayStreams = {
      hub: this.relay, gate: this.gate('a relay connection'), log, maxFramePayload: maxFrameBytes(limits),
      track: (socket) => {
        this.streams.add(socket);
        socket.once('close', () => this.streams.delete(socket));
      },
    };
    server.on('connection', (socket, request) => this.accept(socket, request));
    http.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => this.route(request, socket, head));
  }

  /** The id clients connect with: webccl://host:port/secret (webccl+tls:// when it serves wss://). */
  get id(): string {
    return formatUniqueId({ host: this.host, port: this.port, secret: this.secret, ...(this.tls ? { tls: true } : {}) });
  }

  static async start(options: RendezvousServerOptions = {}): Promise<RendezvousServer> {
    const host = options.host ?? listenHost();
    const limits = withLimits(options.limits);
    const http = await listenForUpgrades(host, options.port ?? 0, (error) => systemError(`rendezvous server: cannot listen on ${host}:${options.port ?? 0}`, error), options.tls);
    if (options.unref) {
      http.unref();
      http.on('connection', (socket: Socket) => socket.unref());
    }
    // Upgrades are routed here (route): ws takes every path but a ws:// server's RELAY_PATH.
    const server = new WebSocketServer({ ...WS_SOCKET_OPTIONS, noServer: true, maxPayload: maxFrameBytes(limits) });
    guardListener(http, server, 'rendezvous server', log);
    // Without the http server ws does not re-emit its errors (guardListener's first case): heard here.
    http.on('error', (error) => log.warn(`rendezvous server: ${error.message}`));
    const { port } = http.address() as AddressInfo;
    const secret = options.secret ?? generateSecret();
    let hosted: SwitchServer | undefined;
    try {
      hosted = options.switch && await SwitchServer.start({ port: 0, ...options.switch, host, secret });
    } catch (error) {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      throw error;
    }
    const started = new RendezvousServer(http, server, host, port, secret, options.helloTimeoutMs ?? HELLO_TIMEOUT_MS, limits, options.tls !== undefined, hosted);
    log.info(`rendezvous server listening on ${host}:${port}${options.tls ? ' (TLS)' : ''}${hosted ? `, hosting switch ${hosted.address}` : ''}`);
    return started;
  }

  /** Stops listening and closes every connection, upgraded or not (the port is free once this resolves). */
  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    for (const socket of this.streams) socket.destroy();
    this.server.close();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await Promise.all([closed, this.hostedSwitch?.close()]);
  }

  /** An upgrade request: a ws:// server's RELAY_PATH to the relay's own reader, everything else to ws. */
  private route(request: IncomingMessage, socket: Socket, head: Buffer): void {
    if (!this.tls && pathOf(request) === RELAY_PATH && acceptRelayStream(request, socket, head, this.relayStreams)) return;
    this.server.handleUpgrade(request, socket, head, (client) => this.server.emit('connection', client, request));
  }

  /** The hello gate for connections its refusals name as `who` (an address, 'a relay connection'). */
  private gate(who: string): HelloGate {
    return { secret: this.secret, timeoutMs: this.helloTimeoutMs, log, refusing: `rendezvous: refusing ${who}`, pending: this.pending };
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const peer = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    awaitHello(webSocketDoor(socket, request.socket, `rendezvous: connection from ${peer}`, log), this.gate(peer), (hello) => {
      const welcome = () => socket.send(WELCOME);
      if (hello.role === 'store') {
        welcome();
        serveStore(socket, this.store, peer);
      } else if (hello.role === 'relay') {
        joinRelayWithWebSocket(this.relay, socket, hello, welcome);
      } else if (hello.role === 'switch' && this.hostedSwitch) {
        return this.hostedSwitch.admitWebSocket(socket, request, hello);
      } else {
        return { code: CLOSE_BAD_HELLO, reason: `role '${hello.role}' is not served here` };
      }
      return undefined;
    });
  }
}

/** The path of a request's URL, without its query. */
function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
