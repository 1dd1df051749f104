// The accepting side of a stream mesh (tcp or websocket), whatever its protocol: listens, and
// admits exactly one connection from each higher rank of the same world that presents the
// secret (hello-gate.ts checks the hello, mesh-admission.ts who may join). Everything else is
// refused with a code and a reason, and logged. Before its hello a connection holds at most its
// reader's staging buffer, and the gate's deadline runs from the accept.
//
// net.Server cannot give accepted sockets the `onread` option that lets the kernel write
// payloads straight into their messages, so each accepted connection is paused on arrival and
// its handle handed to a new net.Socket that has it (nothing has been read by then).
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { systemError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { awaitHello, type HelloDoor, type HelloGate } from '../handshake/hello-gate.js';
import { PendingHellos } from '../handshake/pending-hellos.js';
import { MeshAdmission, type MeshIdentity } from './mesh-admission.js';
import type { MeshListening } from './mesh-kind.js';
import type { StreamReader } from './record-sink.js';

/** A protocol's side of accepting: its reader, its door, and its welcome. */
export interface AcceptProtocol<Reader extends StreamReader> {
  /** Names the mesh in log lines, e.g. 'tcp mesh'. */
  readonly name: string;
  /** `who` names the connection in log lines. */
  reader(socket: () => Socket, who: string): Reader;
  door(socket: Socket, reader: Reader): HelloDoor;
  welcome(socket: Socket): void;
}

export type MeshPeerHandler<Reader> = (peer: number, socket: Socket, reader: Reader) => void;

export class MeshListener<Reader extends StreamReader> implements MeshListening {
  private readonly admission: MeshAdmission;
  private readonly gate: HelloGate;

  private constructor(private readonly server: Server, identity: MeshIdentity, helloTimeoutMs: number, log: Logger, private readonly protocol: AcceptProtocol<Reader>, private readonly onPeer: MeshPeerHandler<Reader>) {
    this.admission = new MeshAdmission(identity);
    this.gate = { secret: identity.secret, timeoutMs: helloTimeoutMs, log, refusing: `rank ${identity.rank}: refusing a ${protocol.name} connection`, pending: new PendingHellos() };
    // An unheard server error (e.g. accept() failing for want of file descriptors) would end the process.
    server.on('error', (error) => log.warn(`rank ${identity.rank}: ${protocol.name} listener: ${error.message}`));
    server.on('connection', (accepted) => this.greet(accepted));
  }

  static async listen<Reader extends StreamReader>(host: string, identity: MeshIdentity, helloTimeoutMs: number, log: Logger, protocol: AcceptProtocol<Reader>, onPeer: MeshPeerHandler<Reader>): Promise<MeshListener<Reader>> {
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(systemError(`rank ${identity.rank}: cannot listen on ${host}`, error)));
      server.listen(0, host, resolve);
    });
    return new MeshListener(server, identity, helloTimeoutMs, log, protocol, onPeer);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting; admitted connections stay open. */
  stop(): void {
    this.server.close();
  }

  private greet(accepted: Socket): void {
    const who = `rank ${this.admission.identity.rank}: ${this.protocol.name} connection from ${accepted.remoteAddress}:${accepted.remotePort}`;
    const reader = this.protocol.reader(() => socket, who);
    const handle = (accepted as unknown as { _handle: unknown })._handle;
    const socket = new Socket({
      handle, onread: { buffer: () => reader.nextBuffer(), callback: (bytes: number) => { reader.arrived(bytes); return true; } },
    } as unknown as ConstructorParameters<typeof Socket>[0]);
    socket.setNoDelay(true);
    // A socket error (e.g. a reset) destroys the socket, and its 'close' reaches the door or,
    // once admitted, the channel; this handler, for the socket's whole life, only logs it.
    socket.on('error', (error) => this.gate.log.info(`${who}: ${error.message}`));
    awaitHello(this.protocol.door(socket, reader), this.gate, (hello) => {
      const refusal = this.admission.admit(hello);
      if (refusal) return refusal;
      this.protocol.welcome(socket);
      this.onPeer(hello.rank!, socket, reader);
      return undefined;
    });
    socket.resume();
  }
}
