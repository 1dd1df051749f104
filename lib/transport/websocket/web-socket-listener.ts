// The accepting side of the websocket mesh (Node): listens, upgrades, and admits exactly one
// connection from each higher rank of the same world that presents the secret (hello-gate.ts
// checks the hello, mesh-admission.ts who may join). Everything else is refused with a close
// code and a reason, and logged; a request that is not a WebSocket upgrade gets 426 and the end.
// Before its hello a connection holds at most its reader's staging buffer (ws-reader.ts), and
// the gate's deadline runs from the accept, so a stranger that never finishes its upgrade
// request is dropped with the ones that never say hello.
//
// net.Server cannot give accepted sockets the `onread` option that lets the kernel write
// payloads straight into their messages, so each accepted connection is paused on arrival and
// its handle handed to a new net.Socket that has it (nothing has been read by then), as the tcp
// mesh's listener does.
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { systemError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { WELCOME } from '../handshake/handshake.js';
import { awaitHello, type HelloDoor, type HelloGate } from '../handshake/hello-gate.js';
import { PendingHellos } from '../handshake/pending-hellos.js';
import { MeshAdmission, type MeshIdentity } from '../mesh/mesh-admission.js';
import type { MeshListening } from '../mesh/mesh-kind.js';
import { endPolitely } from '../mesh/end-politely.js';
import { closePayload, NOT_AN_UPGRADE, OPCODE, upgradeKeyOf, upgradeResponse, wholeFrame } from './rfc6455.js';
import { WebSocketReader } from './ws-reader.js';

export type WebSocketPeerHandler = (peer: number, socket: Socket, reader: WebSocketReader) => void;

export class WebSocketListener implements MeshListening {
  private readonly admission: MeshAdmission;
  private readonly gate: HelloGate;

  private constructor(private readonly server: Server, identity: MeshIdentity, helloTimeoutMs: number, log: Logger, private readonly maxFramePayload: number, private readonly onPeer: WebSocketPeerHandler) {
    this.admission = new MeshAdmission(identity);
    this.gate = { secret: identity.secret, timeoutMs: helloTimeoutMs, log, refusing: `rank ${identity.rank}: refusing a mesh connection`, pending: new PendingHellos() };
    // An unheard server error (e.g. accept() failing for want of file descriptors) would end the process.
    server.on('error', (error) => log.warn(`rank ${identity.rank}: websocket mesh listener: ${error.message}`));
    server.on('connection', (accepted) => this.greet(accepted));
  }

  static async listen(host: string, maxFramePayload: number, identity: MeshIdentity, helloTimeoutMs: number, log: Logger, onPeer: WebSocketPeerHandler): Promise<WebSocketListener> {
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(systemError(`rank ${identity.rank}: cannot listen on ${host}`, error)));
      server.listen(0, host, resolve);
    });
    return new WebSocketListener(server, identity, helloTimeoutMs, log, maxFramePayload, onPeer);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting; admitted connections stay open. */
  stop(): void {
    this.server.close();
  }

  private greet(accepted: Socket): void {
    const who = `rank ${this.admission.identity.rank}: mesh connection from ${accepted.remoteAddress}:${accepted.remotePort}`;
    let upgraded = false;
    const reader: WebSocketReader = new WebSocketReader({
      role: 'server',
      maxFramePayload: this.maxFramePayload,
      head: (text) => {
        const request = upgradeKeyOf(text);
        if ('problem' in request) {
          this.gate.log.warn(`${who}: ${request.problem}; answering 426`);
          endPolitely(socket, new TextEncoder().encode(NOT_AN_UPGRADE));
          return false;
        }
        socket.write(upgradeResponse(request.key));
        upgraded = true;
        return true;
      },
    });
    const handle = (accepted as unknown as { _handle: unknown })._handle;
    const socket = new Socket({
      handle, onread: { buffer: () => reader.nextBuffer(), callback: (bytes: number) => { reader.arrived(bytes); return true; } },
    } as unknown as ConstructorParameters<typeof Socket>[0]);
    socket.setNoDelay(true);
    // A socket error (e.g. a reset) destroys the socket, and its 'close' reaches the door or,
    // once admitted, the channel; this handler, for the socket's whole life, only logs it.
    socket.on('error', (error) => this.gate.log.info(`${who}: ${error.message}`));
    awaitHello(webSocketDoor(socket, reader, () => upgraded), this.gate, (hello) => {
      const refusal = this.admission.admit(hello);
      if (refusal) return refusal;
      socket.write(wholeFrame(OPCODE.text, new TextEncoder().encode(WELCOME), false));
      this.onPeer(hello.rank!, socket, reader);
      return undefined;
    });
    socket.resume();
  }
}

/**
 * An accepted connection as a HelloDoor (see hello-gate.ts): its first message is the hello if
 * it is text, and a refusal is a close frame with the code and reason, then the end (before the
 * upgrade, just the end).
 */
function webSocketDoor(socket: Socket, reader: WebSocketReader, upgraded: () => boolean): HelloDoor {
  return {
    onFirstMessage: (listener) => {
      // Whoever the listener hands the connection to replaces this sink before returning.
      reader.sink = {
        text: (text) => listener(text),
        frameHead: () => {
          listener(undefined);
          return undefined;
        },
        framePayload: () => {},
        garbage: () => listener(undefined),
        ping: () => {},
        closing: () => socket.destroy(),
      };
    },
    onClose: (listener) => socket.once('close', listener),
    refuse: ({ code, reason }) => {
      reader.stop();
      if (upgraded()) endPolitely(socket, wholeFrame(OPCODE.close, closePayload(code, reason), false));
      else socket.destroy();
    },
    drop: () => {
      reader.stop();
      socket.destroy();
    },
  };
}
