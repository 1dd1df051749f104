// The accepting side of the websocket mesh (Node): listens, and admits exactly one connection
// from each higher rank of the same world that presents the secret (hello-gate.ts checks the
// hello, mesh-admission.ts who may join). Everything else is refused with a close code and a
// reason, and logged. The WebSocket server sits on an upgrade-only http server with tight
// timeouts, so that a connection that never upgrades is dropped within seconds.
import { WebSocketServer, type WebSocket } from '../handshake/ws-package.js';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { WELCOME } from '../handshake/handshake.js';
import { awaitHello, type HelloGate } from '../handshake/hello-gate.js';
import { guardListener } from '../handshake/listener-guards.js';
import { PendingHellos } from '../handshake/pending-hellos.js';
import { listenForUpgrades } from '../handshake/upgrade-server.js';
import { webSocketDoor } from '../handshake/web-socket-door.js';
import { WS_SOCKET_OPTIONS } from '../handshake/ws-options.js';
import { MeshAdmission, type MeshIdentity } from '../mesh/mesh-admission.js';
import type { MeshListening } from '../mesh/mesh-kind.js';

export class MeshListener implements MeshListening {
  private readonly admission: MeshAdmission;
  private readonly gate: HelloGate;
  /** Accepted connections still waiting for their hello. */
  private readonly unadmitted = new Set<WebSocket>();

  private constructor(
    private readonly http: Server,
    private readonly server: WebSocketServer,
    identity: MeshIdentity,
    helloTimeoutMs: number,
    log: Logger,
    private readonly onPeer: (peer: number, socket: WebSocket) => void,
  ) {
    this.admission = new MeshAdmission(identity);
    this.gate = { secret: identity.secret, timeoutMs: helloTimeoutMs, log, refusing: `rank ${identity.rank}: refusing a mesh connection`, pending: new PendingHellos() };
    guardListener(http, server, `rank ${identity.rank}: mesh listener`, log);
    server.on('connection', (socket, request) => this.greet(socket, request));
  }

  static async listen(
    host: string, maxPayload: number, identity: MeshIdentity, helloTimeoutMs: number, log: Logger,
    onPeer: (peer: number, socket: WebSocket) => void,
  ): Promise<MeshListener> {
    const http = await listenForUpgrades(host, 0, (error) => systemError(`rank ${identity.rank}: cannot listen on ${host}`, error));
    const server = new WebSocketServer({ ...WS_SOCKET_OPTIONS, server: http, maxPayload });
    return new MeshListener(http, server, identity, helloTimeoutMs, log, onPeer);
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /**
   * Stops accepting; admitted connections stay open. Connections still without a hello are
   * strangers now (every rank that belongs has been admitted, or the mesh failed): cut them.
   */
  stop(): void {
    this.server.close();
    this.http.close();
    for (const socket of this.unadmitted) socket.terminate();
  }

  private greet(socket: WebSocket, request: IncomingMessage): void {
    this.unadmitted.add(socket);
    socket.once('close', () => this.unadmitted.delete(socket));
    const who = `rank ${this.admission.identity.rank}: mesh connection from ${request.socket.remoteAddress}:${request.socket.remotePort}`;
    awaitHello(webSocketDoor(socket, request.socket, who, this.gate.log), this.gate, (hello) => {
      const refusal = this.admission.admit(hello);
      if (refusal) return refusal;
      this.unadmitted.delete(socket);
      socket.send(WELCOME);
      this.onPeer(hello.rank!, socket);
      return undefined;
    });
  }
}
