// The exchange a world communicator runs once at init (sequence 0): rank 0 waits for a hello
// from every rank, then sends each its configuration, the one all will use. Agreed values are
// decided once and shared, never computed per rank.
import type { Link } from '../collectives/context.js';
import { decodeConfig, encodeConfig, type AgreedConfig } from './config.js';
import { signature } from './signature.js';

/** The signature the bootstrap messages carry. */
export const BOOTSTRAP_SIGNATURE = signature('broadcast', 0, 'none', 'none', 0);

const HELLO_TAG = 0;
const CONFIG_TAG = 1;
const EMPTY = new Uint8Array(0);

/** Rank 0's `proposal` on rank 0; on every other rank, the configuration rank 0 sent. */
export async function agreeOnConfig(link: Link, rank: number, size: number, proposal: AgreedConfig): Promise<AgreedConfig> {
  if (rank !== 0) {
    await link.send(0, HELLO_TAG, EMPTY);
    return decodeConfig(await link.recv(0, CONFIG_TAG));
  }
  const others = Array.from({ length: size - 1 }, (_, i) => i + 1);
  await Promise.all(others.map((peer) => link.recv(peer, HELLO_TAG)));
  const bytes = encodeConfig(proposal);
  await Promise.all(others.map((peer) => link.send(peer, CONFIG_TAG, bytes)));
  return proposal;
}
