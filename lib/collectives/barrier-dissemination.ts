// Dissemination barrier: in round k every rank signals the rank 2^k ahead and waits for the
// one 2^k behind; after ceil(log2 n) rounds each rank has (transitively) heard from all.
import type { Link } from './context.js';
import { ringPeer } from './partition.js';

const EMPTY = new Uint8Array(0);

export async function disseminationBarrier(link: Link, rank: number, size: number): Promise<void> {
  for (let round = 0, distance = 1; distance < size; round++, distance *= 2) {
    await Promise.all([
      link.send(ringPeer(rank, distance, size), round, EMPTY),
      link.recv(ringPeer(rank, -distance, size), round),
    ]);
  }
}
