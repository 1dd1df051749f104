// The transport registry: one row per kind of world a communicator can join. Everything that
// names a transport reads it: WEBCCL_TRANSPORT and getUniqueId's option are checked against it,
// an id's scheme says which row made it, and webccl-perf's --transport lists the names. How a
// row connects is its WorldProvider (world.ts), registered by the entry that can run it (the
// core registers inproc; lib/index.node.ts and lib/index.browser.ts the others), so that the
// browser bundle never pulls in a Node transport. A new transport is its folder, one row here
// and one registration in the entries that can host it.
import { invalidArgument } from '../errors.js';
import { readSettings } from '../settings.js';

export interface TransportRow {
  /** The WEBCCL_TRANSPORT value, getUniqueId's `transport` option and webccl-perf's --transport. */
  readonly name: string;
  /** The prefix of the ids of its worlds. */
  readonly scheme: string;
  /**
   * Its worlds meet at a rendezvous server (ids are scheme + host:port/secret, lib/rendezvous);
   * otherwise they live inside one process.
   */
  readonly rendezvous: boolean;
  /** Who can be a rank of its worlds, for documentation and usage texts. */
  readonly reach: string;
}

export const TRANSPORTS: readonly TransportRow[] = [
  { name: 'inproc', scheme: 'inproc://', rendezvous: false, reach: 'all ranks in one process' },
  { name: 'websocket', scheme: 'webccl://', rendezvous: true, reach: 'Node processes and browser tabs; a mesh between Node ranks, the relay for browsers' },
  { name: 'tcp', scheme: 'webccl+tcp://', rendezvous: true, reach: 'Node processes only; a raw TCP mesh' },
  { name: 'shm', scheme: 'webccl+shm://', rendezvous: true, reach: 'Node processes on one host; shared memory through the native addon' },
  { name: 'ntcp', scheme: 'webccl+ntcp://', rendezvous: true, reach: 'Node processes on any hosts; native sockets on a native I/O thread through the native addon' },
  { name: 'relay', scheme: 'webccl+relay://', rendezvous: true, reach: 'Node processes and browser tabs together, all through the rendezvous server (webccl serve prints such ids)' },
];

export const TRANSPORT_NAMES: readonly string[] = TRANSPORTS.map((row) => row.name);

export function transportNamed(name: string): TransportRow | undefined {
  return TRANSPORTS.find((row) => row.name === name);
}

/**
 * An id whose rendezvous speaks TLS (wss://) carries `+tls` before its `://` (webccl+tls://,
 * webccl+relay+tls://); which world it names is read without that mark.
 */
const TLS_MARK = '+tls://';

export function withoutTls(id: string): string {
  const at = id.indexOf(TLS_MARK);
  return at > 0 && at === id.indexOf('://') - 4 ? `${id.slice(0, at)}://${id.slice(at + TLS_MARK.length)}` : id;
}

/** The scheme of `scheme`'s TLS ids: webccl:// -> webccl+tls://. */
export function tlsScheme(scheme: string): string {
  return scheme.replace('://', TLS_MARK);
}

/** The row whose scheme starts `id`. */
export function transportOfId(id: string): TransportRow | undefined {
  const plain = withoutTls(id);
  return TRANSPORTS.find((row) => plain.startsWith(row.scheme));
}

/** Checks a user's choice; `what` starts the error message (e.g. 'WEBCCL_TRANSPORT=udp'). */
export function checkTransportChoice(what: string, choice: unknown): asserts choice is string {
  if (typeof choice !== 'string' || transportNamed(choice) === undefined) {
    throw invalidArgument(`${what} is not one of ${TRANSPORT_NAMES.join(', ')}`);
  }
}

/** WEBCCL_TRANSPORT, checked against the registry (websocket when unset). */
export function transportSetting(): string {
  const { transport } = readSettings();
  checkTransportChoice(`WEBCCL_TRANSPORT=${transport}`, transport);
  return transport;
}
