// SwitchML's multicast of results: the switch sends each completed slot's result once, to a
// group the job's workers joined, and the kernel (or the LAN) copies it to each member, instead
// of once per worker (at 8 workers on one host: 1.04-1.25x the rate of unicast and less switch
// CPU per call, docs/PERFORMANCE.md "sw13"). This file decides, per job, whether its results go that way
// and which group they use; native/src/switch-dp.cc sends, native/src/switch-worker.cc joins.
// Retransmission answers stay unicast in every mode.
//
// Modes (`webccl switch --multicast`, WEBCCL_SWITCH_MULTICAST): 'auto' (default) multicasts a
// job of at least AUTO_MULTICAST_WORKERS workers, all UDP workers able to join (the native worker socket, IPv4) on the
// switch's host (loopback: the group stays on `lo`, where IP_MULTICAST_LOOP delivers it with no
// route); 'on' also multicasts to workers on other hosts (a LAN with multicast, from the
// switch's --host interface) and refuses a job some of whose workers cannot join; 'off' always
// sends once per worker.
import { invalidArgument } from '../errors.js';

export type MulticastMode = 'auto' | 'on' | 'off';

/**
 * 'auto' multicasts from this many workers: below it the per-worker sends it saves are few and
 * the worker's second (group) socket costs more (docs/PERFORMANCE.md, sw13: at 2 workers
 * multicast ran at 0.7-0.8x of unicast, at 8 at 1.04-1.25x).
 */
export const AUTO_MULTICAST_WORKERS = 4;

/** What a job's members say about themselves, for the choice. */
export interface MulticastMember {
  readonly via: 'udp' | 'websocket';
  readonly host: string;
  /** The worker's join said it can join a group (join.multicast). */
  readonly canJoin: boolean;
}

/** A job's group: results go to group:port, leaving the switch by interface `via`. */
export interface MulticastGroup {
  readonly group: string;
  readonly port: number;
  readonly via: string;
}

export type MulticastChoice = { readonly kind: 'multicast'; readonly group: MulticastGroup } | { readonly kind: 'unicast'; readonly reason: string } | { readonly kind: 'refused'; readonly reason: string };

export function parseMulticastMode(text: string | undefined, what: string): MulticastMode {
  if (text === undefined || text === '') return 'auto';
  if (text === 'auto' || text === 'on' || text === 'off') return text;
  throw invalidArgument(`${what} is '${text}'; use auto, on or off`);
}

function isLoopback(host: string): boolean {
  return host.startsWith('127.');
}

/**
 * The group of job `number` on a switch whose groups use port `port` (a port the switch holds,
 * so no other switch on the host uses it): 239.255.0.0/16 is administratively scoped (RFC 2365's
 * local scope), and the job number makes it unique among the switch's running jobs.
 */
export function groupOf(number: number, port: number): string {
  return `239.255.${number}.${1 + (port % 254)}`;
}

/**
 * Multicast or unicast for a job: `switchHost` is the address the switch's data socket is
 * bound to, `groupPort` the port its groups use (undefined: the data plane cannot multicast).
 */
export function chooseMulticast(mode: MulticastMode, number: number, members: readonly MulticastMember[], switchHost: string, groupPort: number | undefined): MulticastChoice {
  if (mode === 'off') return { kind: 'unicast', reason: 'multicast is off' };
  const cannot = (reason: string): MulticastChoice => mode === 'on' ? { kind: 'refused', reason: `multicast is on, but ${reason}` } : { kind: 'unicast', reason };
  if (groupPort === undefined) return cannot('the switch runs the TypeScript data plane (only the native one multicasts)');
  if (switchHost.includes(':')) return cannot('the switch listens on IPv6 (its groups are IPv4)');
  const webSocket = members.filter((m) => m.via !== 'udp').length;
  if (webSocket > 0) return cannot(`${webSocket} worker(s) come through the WebSocket door`);
  const unable = members.filter((m) => !m.canJoin).length;
  if (unable > 0) return cannot(`${unable} worker(s) cannot join a group (Node dgram sockets, IPv6, or an old worker)`);
  if (mode === 'auto' && members.length < AUTO_MULTICAST_WORKERS) return { kind: 'unicast', reason: `${members.length} worker(s), auto multicasts from ${AUTO_MULTICAST_WORKERS}` };
  const remote = members.some((m) => !isLoopback(m.host));
  if (!remote) return { kind: 'multicast', group: { group: groupOf(number, groupPort), port: groupPort, via: '127.0.0.1' } };
  if (mode === 'auto') return { kind: 'unicast', reason: 'workers on other hosts (say --multicast on where the LAN carries multicast)' };
  if (switchHost === '0.0.0.0' || isLoopback(switchHost)) return cannot(`the switch listens on ${switchHost}; give --host the LAN address its groups should leave by`);
  return { kind: 'multicast', group: { group: groupOf(number, groupPort), port: groupPort, via: switchHost } };
}

/**
 * Holds a UDP port on 127.0.0.1 for the switch's groups (bound by no one else while held; the
 * workers bind group:port with SO_REUSEADDR, a different local address, so they share it).
 */
export async function reserveGroupPort(): Promise<{ port: number; release(): void }> {
  const { createSocket } = await import('node:dgram');
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => { socket.off('error', reject); resolve(); });
  });
  return { port: socket.address().port, release: () => socket.close() };
}
