// What a kind of mesh (websocket, raw tcp) supplies to the one way every full mesh forms
// (lib/rendezvous/form-mesh.ts, which meets the other ranks through the rendezvous store): the
// sockets to accept and dial with, on the framed transport that the mesh then carries.
import type { Logger } from '../../log.js';
import type { Hello } from '../handshake/handshake.js';
import type { FramedTransport } from '../framed/framed-transport.js';
import type { WireLimits } from '../framed/limits.js';
import type { MeshIdentity } from './mesh-admission.js';

/** Everything a kind of mesh needs to open its sockets, resolved once. */
export interface MeshSetup {
  readonly identity: MeshIdentity;
  readonly host: string;
  readonly timeoutMs: number;
  /** How long an accepted connection may stay silent before its hello (a rank says it at once). */
  readonly helloTimeoutMs: number;
  readonly limits: WireLimits;
  readonly log: Logger;
  readonly transport: FramedTransport;
}

export interface MeshListening {
  readonly port: number;
  /** Stops accepting; admitted connections stay open. */
  stop(): void;
}

export interface MeshSockets {
  /** Starts accepting higher ranks; calls `attached(peer)` once each is attached to the transport. */
  listen(attached: (peer: number) => void): Promise<MeshListening>;
  /** Dials lower rank `peer` at `address` with `hello`; resolves once it is attached to the transport. */
  dial(peer: number, address: string, hello: Hello): Promise<void>;
}

export interface MeshKind {
  /** Names the mesh in logs and errors, e.g. 'websocket mesh'. */
  readonly name: string;
  /** The transport's description, e.g. 'tcp'. */
  readonly description: string;
  /** Keeps the addresses of different kinds of mesh apart in one store. */
  readonly addressKind: string;
  sockets(setup: MeshSetup): MeshSockets;
}
