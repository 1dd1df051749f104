// How a switch worker reaches the switch, whatever carries it (udp-link.ts, ws-link.ts): a link
// is opened by joining the job and resolves once the switch has welcomed every rank; the worker
// then attaches to it and sends packets through it.

import type { Join, Welcome } from './control-protocol.js';

export interface LinkEvents {
  /**
   * A datagram or binary message from the switch (not yet decoded), valid only during the call:
   * the native socket hands every batch in one reused buffer (worker-datagrams.ts). Copy to keep.
   */
  packet(bytes: Uint8Array): void;
  /** The switch said the job ended (another worker left). */
  ended(reason: string): void;
  /** The control connection closed. */
  closed(): void;
}

export interface SwitchLink {
  send(bytes: Uint8Array): void;
  /** Idempotent. */
  close(): void;
}

export interface OpenedLink {
  readonly welcome: Welcome;
  /** Starts delivering events (an 'ended' that came before is delivered now). */
  attach(events: LinkEvents): SwitchLink;
}

/** Opens a UDP link ('host:port': TCP control and UDP data share the port). */
export type UdpLinkOpener = (address: string, join: Join, name: string, timeoutMs: number, socket?: 'native' | 'dgram' | 'auto') => Promise<OpenedLink>;

let udpLink: UdpLinkOpener | undefined;

/**
 * The UDP link registers itself here when its module loads (udp-link.ts, Node only; the Node
 * entry imports it), so that the worker, which browsers bundle too, never imports node:dgram.
 */
export function registerUdpLink(open: UdpLinkOpener): void {
  udpLink = open;
}

export function registeredUdpLink(): UdpLinkOpener | undefined {
  return udpLink;
}
