// The Node probe of a rank's path to the switch (packet-size.ts says why): which local address
// the kernel would send from to the switch (a UDP socket connected to it: no datagram leaves,
// the kernel only picks the route, the same one the worker's control connection and data socket
// take), the interface that holds that address (os.networkInterfaces), and that interface's MTU
// (/sys/class/net/NAME/mtu on Linux). Anything not found makes the path 'unknown'; a probe
// never fails a job, and it gives up after PROBE_TIMEOUT_MS (a host name that does not resolve
// then fails the join itself, naming the switch).
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { logger } from '../log.js';
import { parseSwitchAddress } from './control-protocol.js';
import { registerSwitchPathProbe, type SwitchPath } from './packet-size.js';

const PROBE_TIMEOUT_MS = 2000;

/** The local address that routes to host:port, found by connecting a UDP socket (nothing is sent). */
function localAddressTo(host: string, port: number): Promise<string> {
  const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no route found within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
    socket.once('error', (error) => { clearTimeout(timer); reject(error); });
    socket.connect(port, host, () => {
      clearTimeout(timer);
      resolve(socket.address().address);
    });
  }).finally(() => socket.close());
}

/** The interface holding `address`: its name, and whether it is loopback. */
function interfaceOf(address: string): { readonly name: string; readonly internal: boolean } | undefined {
  for (const [name, entries] of Object.entries(networkInterfaces())) {
    const entry = entries?.find((e) => e.address === address);
    if (entry) return { name, internal: entry.internal };
  }
  return undefined;
}

async function mtuOf(name: string): Promise<number | undefined> {
  if (!/^[\w.@:-]+$/.test(name)) return undefined;
  try {
    const mtu = Number((await readFile(`/sys/class/net/${name}/mtu`, 'utf8')).trim());
    return Number.isSafeInteger(mtu) && mtu > 0 ? mtu : undefined;
  } catch {
    return undefined;
  }
}

export async function probeSwitchPath(address: string): Promise<SwitchPath> {
  const log = logger('SWITCH');
  try {
    const { host, port } = parseSwitchAddress(address);
    const local = await localAddressTo(host, port);
    const found = interfaceOf(local);
    if (found?.internal) return { kind: 'loopback' };
    const mtu = found === undefined ? undefined : await mtuOf(found.name);
    if (mtu === undefined) {
      log.info(`switch ${address}: the MTU of ${found ? `interface ${found.name}` : `the interface of ${local}`} is unknown; 'auto' takes SwitchML's 256 values a packet`);
      return { kind: 'unknown' };
    }
    return { kind: 'mtu', mtu, ipv6: isIP(local) === 6 };
  } catch (error) {
    log.info(`switch ${address}: no path found (${(error as Error).message})`);
    return { kind: 'unknown' };
  }
}

registerSwitchPathProbe(probeSwitchPath);
