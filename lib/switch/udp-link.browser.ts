// What the browser bundles get in place of udp-link.ts (build.mjs swaps it in): a page cannot
// send UDP, so a worker there joins through the switch's WebSocket door instead.
import { invalidArgument } from '../errors.js';
import type { OpenedLink } from './switch-link.js';

export function openUdpLink(address: string): Promise<OpenedLink> {
  return Promise.reject(invalidArgument(`switch ${address}: a browser cannot send UDP; give the switch's WebSocket door (ws:// or wss:// URL, webccl switch --ws-port or webccl serve --switch)`));
}
