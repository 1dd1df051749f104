// The accepting side of the mesh (Node): listens, and admits exactly one connection from each
// higher rank of the same world that presents the secret. Everything else is refused with a
// close code and a reason, and logged.
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { systemError } from '../../errors.js';
import type { Logger } from '../../log.js';
import {
  CLOSE_BAD_HELLO, CLOSE_DUPLICATE_RANK, CLOSE_HELLO_TIMEOUT, CLOSE_WRONG_SECRET, WELCOME, closeReason, parseHello, sameSecret, type Hello,
} from '../../rendezvous/handshake.js';

export interface MeshIdentity {
  readonly rank: number;
  readonly size: number;
  readonly world: string;
  readonly secret: string;
}

export class MeshListener {
  private readonly admitted = new Set<number>();

  private constructor(
    private readonly server: WebSocketServer,
    private readonly identity: MeshIdentity,
    private readonly helloTimeoutMs: number,
    private readonly log: Logger,
    private readonly onPeer: (peer: number, socket: WebSocket) => void,
  ) {
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
    const { rank } = this.identity;
    const refuse = (code: number, reason: string) => {
      this.log.warn(`rank ${rank}: refusing a mesh connection: ${reason}`);
      socket.close(code, closeReason(reason));
    };
    const timer = setTimeout(() => refuse(CLOSE_HELLO_TIMEOUT, `no hello within ${this.helloTimeoutMs} ms`), this.helloTimeoutMs);
    socket.once('close', () => clearTimeout(timer));
    socket.once('message', (data, isBinary) => {
      clearTimeout(timer);
      let hello: Hello;
      try {
        if (isBinary) throw new Error('first message is binary, not a hello');
        hello = parseHello(String(data));
      } catch (error) {
        return refuse(CLOSE_BAD_HELLO, (error as Error).message.replace(/^\w+: /, ''));
      }
      const problem = this.problemWith(hello);
      if (problem) return refuse(problem.code, problem.reason);
      this.admitted.add(hello.rank!);
      socket.send(WELCOME);
      this.onPeer(hello.rank!, socket);
    });
  }

  private problemWith(hello: Hello): { code: number; reason: string } | undefined {
    const { rank, size, world, secret } = this.identity;
    if (!sameSecret(hello.secret, secret)) return { code: CLOSE_WRONG_SECRET, reason: `wrong secret from a caller claiming rank ${hello.rank}` };
    if (hello.role !== 'mesh') return { code: CLOSE_BAD_HELLO, reason: `role '${hello.role}' is not served by a mesh rank` };
    if (hello.world !== world || hello.size !== size) return { code: CLOSE_BAD_HELLO, reason: `rank ${hello.rank} is in world '${hello.world}' of size ${hello.size}, not '${world}' of size ${size}` };
    // Higher ranks dial lower ones, so a caller must be a higher rank that meant to reach us.
    if (hello.rank! <= rank || hello.to !== rank) return { code: CLOSE_BAD_HELLO, reason: `unknown rank ${hello.rank} (dialling rank ${hello.to}) for rank ${rank}` };
    if (this.admitted.has(hello.rank!)) return { code: CLOSE_DUPLICATE_RANK, reason: `rank ${hello.rank} is already connected` };
    return undefined;
  }
}
