// The exchange a world communicator runs once at init (sequence 0): rank 0 waits for a hello
// from every rank, then sends each its configuration, the one all will use. Agreed values are
// decided once and shared, never computed per rank. Each hello carries its rank's host name,
// which rank 0 turns into the host numbers of a switch hierarchy 'host' (host-groups.ts).
import type { Link } from '../collectives/context.js';
import { decodeConfig, encodeConfig, type AgreedConfig } from './config.js';
import { numberHosts } from './host-groups.js';
import { signature } from './signature.js';

/** The signature the bootstrap messages carry. */
export const BOOTSTRAP_SIGNATURE = signature('broadcast', 0, 'none', 'none', 0);

const HELLO_TAG = 0;
const CONFIG_TAG = 1;
/** Rank 0's `proposal` on rank 0; on every other rank, the configuration rank 0 sent. */
export async function agreeOnConfig(link: Link, rank: number, size: number, proposal: AgreedConfig, hostId: string): Promise<AgreedConfig> {
  if (rank !== 0) {
    await link.send(0, HELLO_TAG, new TextEncoder().encode(hostId));
    return decodeConfig(await link.recv(0, CONFIG_TAG));
  }
  const others = Array.from({ length: size - 1 }, (_, i) => i + 1);
  const names = await Promise.all(others.map(async (peer) => new TextDecoder().decode(await link.recv(peer, HELLO_TAG))));
  const config = proposal.switchHierarchy === 'host' ? { ...proposal, hosts: numberHosts([hostId, ...names]) } : proposal;
  const bytes = encodeConfig(config);
  await Promise.all(others.map((peer) => link.send(peer, CONFIG_TAG, bytes)));
  return config;
}
