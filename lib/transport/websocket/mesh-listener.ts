// The accepting side of the websocket mesh (Node): listens, and admits exactly one connection
// from each higher rank of the same world that presents the secret (hello-gate.ts checks the
// hello, mesh-admission.ts who may join). Everything else is refused with a close code and a
// reason, and logged.
import { WebSocketServer, type WebSocket } from 'ws';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { WELCOME } from '../../rendezvous/handshake.js';
import { awaitHello, type HelloGate } from '../../rendezvous/hello-gate.js';
import { guardListener } from '../../rendezvous/listener-guards.js';
import { PendingHellos } from '../../rendezvous/pending-hellos.js';
import { webSocketDoor } from '../../rendezvous/web-socket-door.js';
import { MeshAdmission, type MeshIdentity } from '../mesh/mesh-admission.js';
import type { MeshListening } from '../mesh/form-mesh.js';

export class MeshListener implements MeshListening {
  private readonly admission: MeshAdmission;
  private readonly gate: HelloGate;

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
    // Its own http server (not ws's), so that guardListener can hear its client errors.
    const http = createServer((_, response) => response.writeHead(426).end('webccl mesh: WebSocket only\n'));
    await new Promise<void>((resolve, reject) => {
      http.once('error', (error) => reject(systemError(`rank ${identity.rank}: cannot listen on ${host}`, error)));
      http.listen(0, host, resolve);
    });
    const server = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload });
    return new MeshListener(http, server, identity, helloTimeoutMs, log, onPeer);
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** Stops accepting; admitted connections stay open. */
  stop(): void {
    this.server.close();
    this.http.close();
  }

  private greet(socket: WebSocket, request: IncomingMessage): void {
    const who = `rank ${this.admission.identity.rank}: mesh connection from ${request.socket.remoteAddress}:${request.socket.remotePort}`;
    awaitHello(webSocketDoor(socket, request.socket, who, this.gate.log), this.gate, (hello) => {
      const refusal = this.admission.admit(hello);
      if (refusal) return refusal;
      socket.send(WELCOME);
      this.onPeer(hello.rank!, socket);
      return undefined;
    });
  }
}
