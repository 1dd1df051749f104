// The accepting side of the websocket mesh (Node): listens, and admits exactly one connection
// from each higher rank of the same world that presents the secret (hello-gate.ts checks the
// hello, mesh-admission.ts who may join). Everything else is refused with a close code and a
// reason, and logged.
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { systemError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { WELCOME } from '../../rendezvous/handshake.js';
import { awaitHello, type HelloGate } from '../../rendezvous/hello-gate.js';
import { webSocketDoor } from '../../rendezvous/web-socket-door.js';
import { MeshAdmission, type MeshIdentity } from '../mesh/mesh-admission.js';
import type { MeshListening } from '../mesh/form-mesh.js';

export class MeshListener implements MeshListening {
  private readonly admission: MeshAdmission;
  private readonly gate: HelloGate;

  private constructor(
    private readonly server: WebSocketServer,
    identity: MeshIdentity,
    helloTimeoutMs: number,
    log: Logger,
    private readonly onPeer: (peer: number, socket: WebSocket) => void,
  ) {
    this.admission = new MeshAdmission(identity);
    this.gate = { secret: identity.secret, timeoutMs: helloTimeoutMs, log, refusing: `rank ${identity.rank}: refusing a mesh connection` };
    server.on('connection', (socket) => this.greet(socket));
  }

  static async listen(
    host: string, maxPayload: number, identity: MeshIdentity, helloTimeoutMs: number, log: Logger,
    onPeer: (peer: number, socket: WebSocket) => void,
  ): Promise<MeshListener> {
    const server = new WebSocketServer({ host, port: 0, perMessageDeflate: false, maxPayload });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', (error) => reject(systemError(`rank ${identity.rank}: cannot listen on ${host}`, error)));
    });
    return new MeshListener(server, identity, helloTimeoutMs, log, onPeer);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting; admitted connections stay open. */
  stop(): void {
    this.server.close();
  }

  private greet(socket: WebSocket): void {
    awaitHello(webSocketDoor(socket), this.gate, (hello) => {
      const refusal = this.admission.admit(hello);
      if (refusal) return refusal;
      socket.send(WELCOME);
      this.onPeer(hello.rank!, socket);
      return undefined;
    });
  }
}
