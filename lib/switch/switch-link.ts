// How a switch worker reaches the switch, whatever carries it (udp-link.ts, ws-link.ts): a link
// is opened by joining the job and resolves once the switch has welcomed every rank; the worker
// then attaches to it and sends packets through it.

import type { Join, Welcome } from './control-protocol.js';
import type { NativeStreamEnd, NativeStreamParams } from '../native/addon.js';

export type { NativeStreamEnd, NativeStreamParams };

/**
 * A whole allreduce run by the link itself (the addon's socket, native/src/switch-stream.h):
 * int32, or float32 with agreed exponents (one per half packet); `output` is `input` or disjoint
 * from it. Resolves once with how it ended; rejects when the link closes during the call.
 */
export interface NativeStreamRunner {
  run(input: Int32Array | Float32Array, output: Int32Array | Float32Array, agreed: Int32Array | null, params: NativeStreamParams): Promise<NativeStreamEnd>;
  /** Whether run() takes float32 with `agreed` null (SwitchML's lead: the exponents agreed in the stream). */
  readonly lead: boolean;
  /** The job ended: the call in flight ends once no result came for graceMs. */
  ended(graceMs: number): void;
}

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
  /** Present on the addon's UDP socket when the addon has native streams. */
  readonly stream?: NativeStreamRunner;
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
