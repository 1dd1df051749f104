// The unique id every rank is given to find the others, like ncclUniqueId but printable:
// `webccl://host:port/<secret>`. host:port is the rendezvous server (store + relay; `+tls` in the
// scheme when it speaks wss://, e.g. webccl+relay+tls://); the secret
// is 16 random bytes as 32 lowercase hex digits that every connection must present. The scheme
// says which mesh the ranks form, decided once by whoever made the id: `webccl://` a websocket
// mesh (or the relay, in a browser), `webccl+tcp://` a raw tcp mesh (Node only); the rendezvous
// server behind either is the same.
import { invalidArgument } from '../errors.js';
import { TRANSPORTS, tlsScheme, withoutTls } from '../transport/registry.js';

/** The kinds of world a rendezvous id can name: the registry's transports that meet at a rendezvous. */
export type MeshTransport = string;

export interface UniqueId {
  readonly host: string;
  readonly port: number;
  readonly secret: string;
  /** Which mesh the ranks form; 'websocket' when left out. */
  readonly transport?: MeshTransport;
  /** The rendezvous speaks TLS (wss://): the id's scheme carries `+tls` (webccl+relay+tls://). */
  readonly tls?: boolean;
}

export const ID_SCHEMES: Readonly<Record<MeshTransport, string>> = Object.fromEntries(
  TRANSPORTS.filter((row) => row.rendezvous).map((row) => [row.name, row.scheme]),
);
const DEFAULT_MESH = 'websocket';
const SECRET_BYTES = 16;
const SECRET_PATTERN = /^[0-9a-f]{32}$/;
const EXPECTED = `expected ${Object.values(ID_SCHEMES).map((scheme, i) => (i === 0 ? `${scheme}host:port/<32 hex digits>` : `${scheme}...`)).join(' or ')}`;

/** The id scheme of a transport that meets at a rendezvous. */
export function idScheme(transport: MeshTransport): string {
  const scheme = ID_SCHEMES[transport];
  if (scheme === undefined) throw invalidArgument(`unique id: '${transport}' is not a transport that meets at a rendezvous (${Object.keys(ID_SCHEMES).join(', ')})`);
  return scheme;
}

/** A fresh random secret (Web Crypto: the same in Node >= 20 and browsers). */
export function generateSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** IPv6 literals need brackets wherever a port follows them (URLs, ids). */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export function formatUniqueId(id: UniqueId): string {
  if (!SECRET_PATTERN.test(id.secret)) throw invalidArgument(`unique id: the secret must be 32 lowercase hex digits`);
  if (!Number.isInteger(id.port) || id.port < 1 || id.port > 65535) throw invalidArgument(`unique id: port ${id.port} is not in 1..65535`);
  if (id.host === '' || /[\s/]/.test(id.host)) throw invalidArgument(`unique id: host '${id.host}' is not a host name or address`);
  const scheme = idScheme(id.transport ?? DEFAULT_MESH);
  return `${id.tls ? tlsScheme(scheme) : scheme}${hostForUrl(id.host)}:${id.port}/${id.secret}`;
}

/** Parses an id, naming the part that is wrong (never echoing the secret). */
export function parseUniqueId(given: string): UniqueId {
  if (typeof given !== 'string') throw invalidArgument(`malformed unique id: not a string; ${EXPECTED}`);
  const text = withoutTls(given);
  const tls = text !== given;
  const transport = Object.keys(ID_SCHEMES).find((kind) => text.startsWith(ID_SCHEMES[kind]!));
  if (transport === undefined) throw invalidArgument(`malformed unique id: does not start with ${Object.values(ID_SCHEMES).map((s) => `'${s}'`).join(' or ')}; ${EXPECTED}`);
  const rest = text.slice(ID_SCHEMES[transport]!.length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw invalidArgument(`malformed unique id: no '/' before the secret; ${EXPECTED}`);
  const authority = rest.slice(0, slash);
  const secret = rest.slice(slash + 1);
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^\s[\]:/]+):(\d{1,5})$/.exec(authority);
  if (!match) throw invalidArgument(`malformed unique id: '${authority}' is not host:port; ${EXPECTED}`);
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw invalidArgument(`malformed unique id: port ${match[2]} is not in 1..65535`);
  if (!SECRET_PATTERN.test(secret)) throw invalidArgument(`malformed unique id: the secret is not 32 lowercase hex digits; ${EXPECTED}`);
  const host = match[1]!.replace(/^\[(.*)\]$/, '$1');
  return { host, port, secret, transport, ...(tls ? { tls } : {}) };
}

/** The WebSocket URL of the rendezvous server an id names. */
export function rendezvousUrl(id: UniqueId): string {
  return `${id.tls ? 'wss' : 'ws'}://${hostForUrl(id.host)}:${id.port}/`;
}
