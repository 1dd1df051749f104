// The secret of a world that was given only an address (torchrun's MASTER_ADDR/MASTER_PORT).
// Every rank must arrive at the same secret without talking first, so it is either handed to
// all of them (WEBCCL_SECRET, which webccl-run sets and torchrun users export) or derived from
// what they all know: host, port, size and run id. Anyone who can see the job's address can
// derive that too, so a derived secret only guards against strays (another job on the same
// port), never against a stranger who wants a rank's seat. It is therefore allowed only where
// every listening socket is on loopback (the same trust torch's TCPStore gives: local users are
// trusted), or where the user opted into that trust across hosts with WEBCCL_INSECURE=1.
// Everything here is decided before a socket is opened.
import { invalidArgument } from '../errors.js';
import { logger } from '../log.js';
import { readEnv, readSecurity, type SecuritySettings } from '../settings.js';

const SECRET_PATTERN = /^[0-9a-f]{32}$/;

/** The secret as given by `source` (an env var, a flag, a file), or an InvalidArgument naming the source. */
export function checkSecret(value: string, source: string): string {
  if (!SECRET_PATTERN.test(value)) throw invalidArgument(`${source} must be 32 lowercase hex digits (e.g. the output of \`openssl rand -hex 16\`)`);
  return value;
}

/**
 * Whether `host` names this machine's loopback interface, from its spelling alone (no name
 * lookup: this runs before anything touches the network): 127.0.0.0/8, ::1 (any spelling,
 * bracketed or IPv4-mapped) and `localhost`. Any other name counts as reachable from outside.
 */
export function isLoopbackHost(host: string): boolean {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  if (v4) return v4.slice(1).every((part) => Number(part) <= 255) && v4[1] === '127';
  const groups = ipv6Groups(name);
  return groups !== undefined && groups.slice(0, 7).every((group) => group === 0) && groups[7] === 1;
}

/** The eight 16-bit groups of an IPv6 literal, or undefined when `name` is not one. */
function ipv6Groups(name: string): number[] | undefined {
  const halves = name.split('::');
  if (halves.length > 2 || !/^[0-9a-f:]+$/.test(name)) return undefined;
  const parse = (half: string | undefined) => (half === undefined || half === '' ? [] : half.split(':'));
  const [head, tail] = [parse(halves[0]), parse(halves[1])];
  if ([...head, ...tail].some((group) => !/^[0-9a-f]{1,4}$/.test(group))) return undefined;
  const zeros = 8 - head.length - tail.length;
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) return undefined;
  return [...head, ...Array<string>(zeros).fill('0'), ...tail].map((group) => Number.parseInt(group, 16));
}

/** How a MASTER_ADDR world gets its secret. */
export type AddressSecretChoice =
  | { readonly kind: 'given'; readonly secret: string }
  | { readonly kind: 'derived'; readonly because: 'loopback' | 'insecure' };

/**
 * The decision alone (no I/O): WEBCCL_SECRET when given; else the derived secret if the
 * rendezvous (host) and the mesh (socketHost, WEBCCL_SOCKET_HOST) are both on loopback or the
 * user set WEBCCL_INSECURE=1; else an InvalidArgument saying how to set a secret.
 */
export function chooseAddressSecret(host: string, port: number, socketHost: string | undefined, security: SecuritySettings): AddressSecretChoice {
  if (security.secret !== undefined) return { kind: 'given', secret: checkSecret(security.secret, 'WEBCCL_SECRET') };
  const exposed = [['MASTER_ADDR', host], ['WEBCCL_SOCKET_HOST', socketHost]].filter(([, value]) => value !== undefined && value !== '' && !isLoopbackHost(value));
  if (exposed.length === 0) return { kind: 'derived', because: 'loopback' };
  if (security.insecure) return { kind: 'derived', because: 'insecure' };
  const where = exposed.map(([name, value]) => `${name}=${value}`).join(' and ');
  throw invalidArgument(
    `${where} ${exposed.length === 1 ? 'is not a loopback address' : 'are not loopback addresses'} and WEBCCL_SECRET is not set: anyone who can reach ${host}:${port} could derive this job's `
    + `secret and take a rank's seat. Give every rank the same secret, e.g. run \`export WEBCCL_SECRET=$(openssl rand -hex 16)\` once `
    + `and pass that same value to each rank's environment, or set WEBCCL_INSECURE=1 to trust everyone `
    + `who can reach the port (torch TCPStore's model)`);
}

/** The secret derived from what every rank of the job knows (and so does anyone who sees its address). */
export async function deriveAddressSecret(host: string, port: number, size: number, runId: string): Promise<string> {
  const job = `webccl|${host}|${port}|${size}|${runId}`;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(job)));
  return Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** `socketHost`: where this rank's mesh listens (socket-host.ts's listenHost(), passed in: this file stays free of Node modules). */
export async function secretForAddress(host: string, port: number, size: number, socketHost = readEnv('WEBCCL_SOCKET_HOST')): Promise<string> {
  const choice = chooseAddressSecret(host, port, socketHost, readSecurity());
  if (choice.kind === 'given') return choice.secret;
  const log = logger('INIT');
  if (choice.because === 'loopback') {
    log.info(`no WEBCCL_SECRET: the loopback rendezvous at ${host}:${port} uses a secret derived from its address, a guard against strays only (every local user is trusted)`);
  } else {
    log.warn(`WEBCCL_INSECURE=1: the rendezvous at ${host}:${port} uses a secret derived from its address; anyone who can reach it can join`);
  }
  return deriveAddressSecret(host, port, size, readEnv('TORCHELASTIC_RUN_ID') ?? '');
}
