// How a demo rank finds its place: the server hands out the rendezvous id, and the store's add()
// hands out tickets, so the n-th rank to join (tab or Node process) becomes rank n % size of
// world n / size. Opening `size` more tabs later starts a fresh world instead of colliding with the first one.
import { StoreClient, type WebSocketConstructor } from '../lib/index.core.js';

export interface Seat {
  readonly id: string;
  readonly rank: number;
  readonly size: number;
  /** The relay world's name, shared by the `size` ranks of one round. */
  readonly world: string;
  /** The demo server hosts a switch: 'switch' is an algorithm to offer. */
  readonly hostsSwitch: boolean;
}

export interface SeatOptions {
  /** The demo server's origin (default: the page's own, '' for relative URLs). */
  readonly origin?: string;
  /** Node passes nodeWebSocket(); pages use the global one. */
  readonly WebSocket?: WebSocketConstructor;
}

export async function takeSeat(size: number, timeoutMs: number, options: SeatOptions = {}): Promise<Seat> {
  const response = await fetch(`${options.origin ?? ''}/world.json`);
  if (!response.ok) throw new Error(`GET /world.json: ${response.status}`);
  const { id, switch: hostsSwitch } = (await response.json()) as { id: string; switch?: boolean };
  const store = await StoreClient.connect({ id, timeoutMs, who: 'demo rank', ...(options.WebSocket && { WebSocket: options.WebSocket }) });
  try {
    const ticket = (await store.add(`demo/size-${size}/tickets`, 1)) - 1;
    return { id, rank: ticket % size, size, world: `demo-${size}-${Math.floor(ticket / size)}`, hostsSwitch: hostsSwitch === true };
  } finally {
    store.close();
  }
}
