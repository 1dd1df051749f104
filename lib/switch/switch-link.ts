// How a switch worker reaches the switch, whatever carries it (udp-link.ts, ws-link.ts): a link
// is opened by joining the job and resolves once the switch has welcomed every rank; the worker
// then attaches to it and sends packets through it.

import type { Welcome } from './control-protocol.js';

export interface LinkEvents {
  /** A datagram or binary message from the switch (not yet decoded). */
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
