// How many values a switch packet carries for a communicator's job. A software switch is
// packet-rate bound: each datagram costs the switch and each worker about the same whatever its
// size, so elements per second grow with the values a packet holds (bench/switch-rate.ts: 21 M
// elements/s at 4096 values against 6.6 M at 256, 2 workers). The limit is IP fragmentation: a
// datagram larger than the path's MTU is cut into fragments, and losing one loses the packet.
// So 'auto' takes the largest size class whose datagram (SwitchML header, values, UDP and IP
// headers) fits the MTU of the interface that routes to the switch: loopback (65536) fits the
// largest class, 7 (4096 values); a 9000-byte jumbo-frame port fits class 6 (2048); Ethernet's
// 1500 fits class 3 (256 values, SwitchML's large packet). When the MTU cannot be found, class
// 3 fits any Ethernet path. A rank on the switch's WebSocket door sends TCP messages, which
// have no MTU: class 7.
//
// Every worker of a job must give the same class (the switch refuses others, job-table.ts), and
// ranks may reach the switch over different links: each rank finds its own largest class and
// names it in its bootstrap hello; rank 0 agrees the smallest (lib/comm/bootstrap.ts).
//
// Finding the interface needs Node (node:dgram, node:os, /sys): path-mtu.ts registers that
// probe from the Node entry. Without it (a browser), a rank has no UDP and uses the door.
import { parseSwitchAddresses } from './control-protocol.js';
import { MAX_SIZE_CLASS, MIN_SIZE_CLASS, packetBytes, valuesOf } from './packet.js';

/** What a rank knows of its path to the switch. */
export type SwitchPath =
  | { readonly kind: 'loopback' }
  | { readonly kind: 'websocket' }
  /** The MTU of the interface that routes to the switch; ipv6 for a 40-byte IP header instead of 20. */
  | { readonly kind: 'mtu'; readonly mtu: number; readonly ipv6?: boolean }
  | { readonly kind: 'unknown' };

const UDP_HEADER_BYTES = 8;
/** SwitchML's 256 values (1034-byte datagrams): what 'auto' uses when the MTU is unknown; fits a 1500-byte path. */
export const UNKNOWN_PATH_SIZE_CLASS = 3;

/** The largest size class whose datagrams cross `path` unfragmented (the smallest class when none does). */
export function sizeClassForPath(path: SwitchPath): number {
  switch (path.kind) {
    case 'loopback':
    case 'websocket': return MAX_SIZE_CLASS;
    case 'unknown': return UNKNOWN_PATH_SIZE_CLASS;
    case 'mtu': {
      const overhead = UDP_HEADER_BYTES + (path.ipv6 ? 40 : 20);
      let sizeClass = MAX_SIZE_CLASS;
      while (sizeClass > MIN_SIZE_CLASS && packetBytes(sizeClass) + overhead > path.mtu) sizeClass--;
      return sizeClass;
    }
  }
}

/** Finds the path to a switch's UDP 'host:port' (Node: path-mtu.ts); resolves 'unknown' rather than failing. */
export type SwitchPathProbe = (address: string) => Promise<SwitchPath>;

let probe: SwitchPathProbe | undefined;

/** The Node entry registers the probe (path-mtu.ts), so browsers never bundle node:os. */
export function registerSwitchPathProbe(found: SwitchPathProbe): void {
  probe = found;
}

/**
 * This rank's largest size class to the switch at `address` (an agreed address list, or its
 * leaf's), taken the way switchRoute (switch-aggregator.ts) takes it: UDP where the address has
 * a host:port, the rank did not ask for the door and the platform has UDP (a probe), else the door.
 */
export async function largestSizeClassTo(address: string, via: 'udp' | 'websocket' | undefined): Promise<number> {
  const { udp } = parseSwitchAddresses(address);
  if (via === 'websocket' || udp === undefined || probe === undefined) return sizeClassForPath({ kind: 'websocket' });
  return sizeClassForPath(await probe(udp));
}

/** The size class of `values` per packet; undefined unless it is a power of two from 32 to 4096. */
export function sizeClassOfValues(values: number): number | undefined {
  for (let sizeClass = MIN_SIZE_CLASS; sizeClass <= MAX_SIZE_CLASS; sizeClass++) if (valuesOf(sizeClass) === values) return sizeClass;
  return undefined;
}
