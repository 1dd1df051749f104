// How one rank reaches the switch: the secret it presents, the path it takes (UDP or the
// WebSocket door) and, with two levels of switches, its own leaf switch. All three are each
// rank's own, unlike the address (rank 0's, agreed): a job may mix UDP and WebSocket workers,
// and the ranks of a two-level job name different leaves (their grouping is agreed at init,
// switch-leaves.ts), so none of them changes what any rank computes.
import { readEnv } from '../settings.js';
import { parseSwitchAddresses } from '../switch/control-protocol.js';
import { largestSizeClassTo } from '../switch/packet-size.js';
import { valuesOf } from '../switch/packet.js';
import type { Transport } from '../transport/transport.js';

export type SwitchVia = 'udp' | 'websocket';

export interface SwitchAccess {
  readonly secret: string | undefined;
  /** undefined: the provider's default (UDP where it has it). */
  readonly via: SwitchVia | undefined;
  /** This rank's leaf switch of a two-level job ('' when it names none): what it joins instead of the agreed address. */
  readonly leaf: string;
}

/** Throws a plain Error naming a bad `switchVia` (init makes it InvalidArgument, as for every option). */
export function checkSwitchVia(via: unknown): void {
  if (via !== undefined && via !== 'udp' && via !== 'websocket') throw new Error(`switchVia '${String(via)}' is not 'udp' or 'websocket'`);
}

/** This rank's leaf: the option, else WEBCCL_SWITCH_LEAF, else ''; a plain Error names a malformed one. */
export function switchLeafOf(given: string | undefined): string {
  const leaf = given ?? (readEnv('WEBCCL_SWITCH_LEAF') || '');
  if (typeof leaf !== 'string') throw new Error(`switchLeaf ${String(leaf)} is not a string`);
  if (leaf === '') return '';
  try {
    parseSwitchAddresses(leaf);
  } catch (error) {
    throw new Error(`${given === undefined ? `WEBCCL_SWITCH_LEAF=${leaf}` : `switchLeaf '${leaf}'`} is not host:port, a ws:// URL or both joined by a comma (${(error as Error).message})`);
  }
  return leaf;
}

/**
 * The secret: the option, WEBCCL_SWITCH_SECRET, WEBCCL_SECRET, else that of the switch the
 * rendezvous server hosts. The path: the option, else WEBCCL_SWITCH_VIA. The leaf: switchLeafOf.
 */
export function switchAccessOf(
  options: { readonly switchSecret?: string; readonly switchVia?: SwitchVia; readonly switchLeaf?: string },
  transport: Transport,
): SwitchAccess {
  const secret = options.switchSecret ?? (readEnv('WEBCCL_SWITCH_SECRET') || readEnv('WEBCCL_SECRET') || transport.hostedSwitch?.secret || undefined);
  return { secret, via: switchViaOf(options.switchVia), leaf: switchLeafOf(options.switchLeaf) };
}

/** The path to the switch: the option, else WEBCCL_SWITCH_VIA, else undefined (the provider's default); a plain Error names a bad variable. */
export function switchViaOf(given: SwitchVia | undefined): SwitchVia | undefined {
  if (given !== undefined) return given;
  const env = readEnv('WEBCCL_SWITCH_VIA') || undefined;
  if (env !== undefined && env !== 'udp' && env !== 'websocket') throw new Error(`WEBCCL_SWITCH_VIA=${env} is not 'udp' or 'websocket'`);
  return env;
}

/**
 * What this rank's bootstrap hello says of its path to the switch it will join (its leaf, else
 * the switch it proposes): the most values a packet carries there unfragmented. Nothing
 * without a switch. Rank 0 agrees the smallest (bootstrap.ts).
 */
export async function switchPathHello(proposedSwitch: string, access: SwitchAccess): Promise<{ switchPacketValues?: number }> {
  const address = access.leaf || proposedSwitch;
  if (address === '') return {};
  return { switchPacketValues: valuesOf(await largestSizeClassTo(address, access.via)) };
}
