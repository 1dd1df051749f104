// A mesh address as the store publishes it (host:port, IPv6 hosts in brackets), for the diallers.
import { systemError } from '../../errors.js';

/** host and port of `address`; throws a SystemError when it is not host:port. */
export function splitAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+)\]?:(\d+)$/.exec(address);
  if (!match) throw systemError(`'${address}' is not host:port`);
  return { host: match[1]!, port: Number(match[2]) };
}
