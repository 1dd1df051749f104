// How a demo tab finds its place: the server hands out the rendezvous id, and the store's add()
// hands out tickets, so the n-th tab to open becomes rank n % size of world n / size. Opening
// `size` more tabs later starts a fresh world instead of colliding with the first one.
import { StoreClient } from '../lib/index.browser.js';

export interface Seat {
  readonly id: string;
  readonly rank: number;
  readonly size: number;
  /** The relay world's name, shared by the `size` tabs of one round. */
  readonly world: string;
}

export async function takeSeat(size: number, timeoutMs: number): Promise<Seat> {
  const response = await fetch('/world.json');
  if (!response.ok) throw new Error(`GET /world.json: ${response.status}`);
  const { id } = (await response.json()) as { id: string };
  const store = await StoreClient.connect({ id, timeoutMs, who: 'demo tab' });
  try {
    const ticket = (await store.add(`demo/size-${size}/tickets`, 1)) - 1;
    return { id, rank: ticket % size, size, world: `demo-${size}-${Math.floor(ticket / size)}` };
  } finally {
    store.close();
  }
}
