// The exchange a world communicator runs once at init (sequence 0): rank 0 waits for a hello
// from every rank, then sends each its configuration, the one all will use. Agreed values are
// decided once and shared, never computed per rank. Each hello carries its rank's host name and
// leaf switch, which rank 0 turns into the host numbers of a switch hierarchy 'host'
// (host-groups.ts) and the leaf numbers of a two-level switch job (switch-leaves.ts), and the
// largest switch packet its path to the switch carries unfragmented (lib/switch/packet-size.ts),
// of which rank 0 takes the smallest when its packet setting is 'auto', and whether its
// transport has a collective board (lib/transport/board.ts): the board is agreed only where
// every rank has one, and ranks that differ fail init (else one would wait on the board for
// a peer that runs the ring).
import type { Link } from '../collectives/context.js';
import { internalError, invalidArgument } from '../errors.js';
import { decodeConfig, encodeConfig, type AgreedConfig } from './config.js';
import { numberHosts } from './host-groups.js';
import { numberLeaves } from './switch-leaves.js';
import { signature } from './signature.js';
import { sizeClassOfValues, UNKNOWN_PATH_SIZE_CLASS } from '../switch/packet-size.js';
import { valuesOf } from '../switch/packet.js';

/** The signature the bootstrap messages carry. */
export const BOOTSTRAP_SIGNATURE = signature('broadcast', 0, 'none', 'none', 0);

/** What each rank tells rank 0 about itself. */
export interface Hello {
  /** Its host's name ('' for none). */
  readonly host: string;
  /** Its leaf switch ('' for none). */
  readonly leaf: string;
  /** The most values a switch packet may carry on its path to the switch (absent: it names no switch). */
  readonly switchPacketValues?: number;
  /** Its transport has a collective board (absent: none). */
  readonly board?: true;
}

const HELLO_TAG = 0;
const CONFIG_TAG = 1;

function readHello(bytes: Uint8Array, peer: number): Hello {
  try {
    const { host, leaf, switchPacketValues: values, board } = JSON.parse(new TextDecoder().decode(bytes)) as Hello;
    const valuesOk = values === undefined || (typeof values === 'number' && sizeClassOfValues(values) !== undefined);
    if (typeof host === 'string' && typeof leaf === 'string' && valuesOk && (board === undefined || board === true)) {
      return { host, leaf, ...(values === undefined ? {} : { switchPacketValues: values }), ...(board && { board }) };
    }
  } catch { /* named below */ }
  throw internalError(`the bootstrap hello of rank ${peer} cannot be read`);
}

/**
 * Rank 0's `proposal` on rank 0; on every other rank, the configuration rank 0 sent. Rank 0
 * throws InvalidArgument when the hellos do not fit together (the communicator tells the peers).
 */
export async function agreeOnConfig(link: Link, rank: number, size: number, proposal: AgreedConfig, hello: Hello): Promise<AgreedConfig> {
  if (rank !== 0) {
    await link.send(0, HELLO_TAG, new TextEncoder().encode(JSON.stringify(hello)));
    return decodeConfig(await link.recv(0, CONFIG_TAG));
  }
  const others = Array.from({ length: size - 1 }, (_, i) => i + 1);
  const hellos = [hello, ...await Promise.all(others.map(async (peer) => readHello(await link.recv(peer, HELLO_TAG), peer)))];
  const hosts = proposal.switchHierarchy === 'host' ? numberHosts(hellos.map((h) => h.host)) : undefined;
  // Leaves matter only to a communicator with a switch (the root they forward to).
  const leaves = proposal.switch === '' ? undefined : numberLeaves(hellos.map((h) => h.leaf));
  const config = { ...proposal, ...(hosts ? { hosts } : {}), ...(leaves ? { leaves } : {}), ...packetValues(proposal, hellos), ...boardOf(hellos), ...oneHostOf(hellos) };
  const bytes = encodeConfig(config);
  await Promise.all(others.map((peer) => link.send(peer, CONFIG_TAG, bytes)));
  return config;
}

/** 'auto' packet values: the smallest of the ranks' largest (SwitchML's 256 when no rank found its path). */
function packetValues(proposal: AgreedConfig, hellos: readonly Hello[]): Pick<AgreedConfig, 'switchPacketValues'> {
  if (proposal.switch === '' || proposal.switchPacketValues !== 'auto') return {};
  const found = hellos.flatMap((h) => (h.switchPacketValues === undefined ? [] : [h.switchPacketValues]));
  return { switchPacketValues: found.length === 0 ? valuesOf(UNKNOWN_PATH_SIZE_CLASS) : Math.min(...found) };
}

/** oneHost where every rank named one host, and not '' (a rank that names none is a host of its own). */
function oneHostOf(hellos: readonly Hello[]): Pick<AgreedConfig, 'oneHost'> {
  return hellos.every((h) => h.host !== '' && h.host === hellos[0]!.host) ? { oneHost: true } : {};
}

/** The board where every rank's transport has one; ranks that differ are named (InvalidArgument, every rank fails init). */
function boardOf(hellos: readonly Hello[]): Pick<AgreedConfig, 'board'> {
  const ranksWith = (has: boolean) => hellos.flatMap((h, rank) => (Boolean(h.board) === has ? [rank] : []));
  const [having, lacking] = [ranksWith(true), ranksWith(false)];
  if (lacking.length === 0) return { board: true };
  if (having.length === 0) return {};
  throw invalidArgument(`init: the transport of rank${having.length > 1 ? 's' : ''} ${having.join(', ')} has a collective board (shared memory with the native addon) but that of rank${lacking.length > 1 ? 's' : ''} ${lacking.join(', ')} has none (addon missing or built without it there, or another transport); every rank needs the same`);
}
