// Where a Node rank's listeners (rendezvous, mesh) listen, and the address it tells its peers to
// dial: NCCL_SOCKET_IFNAME's job.
//   WEBCCL_SOCKET_IFNAME  the network interface to use, by name prefix (`eth` takes the first of
//                         eth0, eth1, ... in the system's order) or exactly with `=eth0`; its IPv4
//                         address, else its IPv6 one
//   WEBCCL_SOCKET_HOST    the address (or host name) to listen on; 0.0.0.0 or :: listens everywhere
// Listen on WEBCCL_SOCKET_HOST, else the interface's address, else 127.0.0.1. Advertise the
// interface's address, else WEBCCL_SOCKET_HOST unless it is a wildcard, else 127.0.0.1. With an
// interface name every host of a job can share one environment (srun, mpirun -x), where a
// per-host WEBCCL_SOCKET_HOST needs a shell wrapper.
import { networkInterfaces } from 'node:os';
import { invalidArgument } from '../errors.js';
import { readEnv } from '../settings.js';

export interface SocketHosts {
  readonly listen: string;
  readonly advertise: string;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** The address of the interface `spec` names (a prefix, or `=name` exactly). */
export function interfaceAddress(spec: string): string {
  const exact = spec.startsWith('=');
  const wanted = exact ? spec.slice(1) : spec;
  const interfaces = networkInterfaces();
  const names = Object.keys(interfaces).filter((name) => (exact ? name === wanted : name.startsWith(wanted)));
  for (const family of ['IPv4', 'IPv6']) {
    for (const name of names) {
      const address = interfaces[name]?.find((a) => a.family === family && !(family === 'IPv6' && a.scopeid));
      if (address) return address.address;
    }
  }
  throw invalidArgument(`WEBCCL_SOCKET_IFNAME=${spec}: no interface ${exact ? 'named' : 'whose name starts with'} ${wanted} has an address `
    + `(interfaces here: ${Object.keys(interfaces).join(', ') || 'none'})`);
}

/** What this process's listeners listen on, from the environment. */
export function listenHost(): string {
  const host = readEnv('WEBCCL_SOCKET_HOST') || undefined;
  const ifname = readEnv('WEBCCL_SOCKET_IFNAME') || undefined;
  return host ?? (ifname === undefined ? '127.0.0.1' : interfaceAddress(ifname));
}

/** What this process listens on and advertises, from the environment. */
export function socketHosts(): SocketHosts {
  const host = readEnv('WEBCCL_SOCKET_HOST') || undefined;
  const ifname = readEnv('WEBCCL_SOCKET_IFNAME') || undefined;
  const chosen = ifname === undefined ? undefined : interfaceAddress(ifname);
  const listen = host ?? chosen ?? '127.0.0.1';
  if (chosen !== undefined) return { listen, advertise: chosen };
  if (host !== undefined && WILDCARDS.has(host)) {
    throw invalidArgument(`WEBCCL_SOCKET_HOST=${host} listens on every interface: set WEBCCL_SOCKET_IFNAME to the one this rank's peers reach it on`);
  }
  return { listen, advertise: listen };
}
