// The accepting side of the tcp mesh: listens, and admits exactly one connection from each
// higher rank of the same world that presents the secret (hello-gate.ts checks the hello,
// mesh-admission.ts who may join). Everything else is refused with a code and a reason.
//
// net.Server cannot give accepted sockets the `onread` option that lets the kernel write
// payloads straight into their messages, so each accepted connection is paused on arrival and
// its handle handed to a new net.Socket that has it (nothing has been read by then).
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { systemError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { WELCOME } from '../handshake/handshake.js';
import { awaitHello, type HelloGate } from '../handshake/hello-gate.js';
import { PendingHellos } from '../handshake/pending-hellos.js';
import { MeshAdmission, type MeshIdentity } from '../mesh/mesh-admission.js';
import type { MeshListening } from '../mesh/mesh-kind.js';
import { RecordReader } from './record-reader.js';
import { tcpDoor } from './tcp-door.js';
import { encodeTextRecord } from './text-record.js';

export type TcpPeerHandler = (peer: number, socket: Socket, reader: RecordReader) => void;

export class TcpListener implements MeshListening {
  private readonly admission: MeshAdmission;
  private readonly gate: HelloGate;

  private constructor(private readonly server: Server, identity: MeshIdentity, helloTimeoutMs: number, log: Logger, private readonly onPeer: TcpPeerHandler) {
    this.admission = new MeshAdmission(identity);
    // Before its hello a connection holds at most its reader's staging buffer (record-reader.ts);
    // how many may wait is capped here.
    this.gate = { secret: identity.secret, timeoutMs: helloTimeoutMs, log, refusing: `rank ${identity.rank}: refusing a tcp mesh connection`, pending: new PendingHellos() };
    // An unheard server error (e.g. accept() failing for want of file descriptors) would end the process.
    server.on('error', (error) => log.warn(`rank ${identity.rank}: tcp mesh listener: ${error.message}`));
    server.on('connection', (accepted) => this.greet(accepted));
  }

  static async listen(host: string, identity: MeshIdentity, helloTimeoutMs: number, log: Logger, onPeer: TcpPeerHandler): Promise<TcpListener> {
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(systemError(`rank ${identity.rank}: cannot listen on ${host}`, error)));
      server.listen(0, host, resolve);
    });
    return new TcpListener(server, identity, helloTimeoutMs, log, onPeer);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting; admitted connections stay open. */
  stop(): void {
    this.server.close();
  }

  private greet(accepted: Socket): void {
    const reader = new RecordReader();
    const handle = (accepted as unknown as { _handle: unknown })._handle;
    const socket = new Socket({
      handle, onread: { buffer: () => reader.nextBuffer(), callback: (bytes: number) => { reader.arrived(bytes); return true; } },
    } as unknown as ConstructorParameters<typeof Socket>[0]);
    socket.setNoDelay(true);
    // A socket error (e.g. a reset) destroys the socket, and its 'close' reaches the door or,
    // once admitted, the channel; this handler, for the socket's whole life, only logs it.
    const peer = `${accepted.remoteAddress}:${accepted.remotePort}`;
    socket.on('error', (error) => this.gate.log.info(`rank ${this.admission.identity.rank}: tcp mesh connection from ${peer}: ${error.message}`));
    awaitHello(tcpDoor(socket, reader), this.gate, (hello) => {
      const refusal = this.admission.admit(hello);
      if (refusal) return refusal;
      socket.write(encodeTextRecord(WELCOME));
      this.onPeer(hello.rank!, socket, reader);
      return undefined;
    });
    socket.resume();
  }
}
