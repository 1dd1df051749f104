// The switch's control plane: one TCP connection per worker, carrying JSON messages one per
// line. The worker opens with a join (the hello of lib/rendezvous/handshake.ts with role
// 'switch': the switch's secret, which job, which rank of how many, and the job's parameters);
// once every rank of the job has joined, each gets a `welcome` with its worker id, the job
// number and slot range. A refusal is one `refused` line, then the switch closes. The
// connection stays open for the job's lifetime: when it closes, the worker has left, the job
// ends and the others get `ended`.
//
// Two levels (a leaf switch below a root, SHARP's aggregation tree): the workers of a leaf
// join it with `rank`/`size` counting the workers at that leaf, `total` the job's worker count
// over every leaf (what they quantize with), and `uplink` the leaf's place among the root's
// members; the leaf then joins the root with that place as its rank and `leaf: true`.
import { invalidArgument, invalidUsage } from '../errors.js';
import { isSizeClass, MAX_SLOTS } from './packet.js';

/** Lines longer than this are garbage (a join is well under 1 KiB); the connection is refused. */
export const MAX_LINE_BYTES = 4096;
export const DEFAULT_WINDOW = 256;
/** A two-level job's workers: any n keeps M = floor((2^31 - 1) / n) >= 2^16, i.e. 16 bits per value. */
export const MAX_TOTAL_WORKERS = 32768;

export interface Join {
  readonly t: 'hello';
  readonly role: 'switch';
  readonly secret: string;
  /** The job's name: every rank of one communicator gives the same one. */
  readonly world: string;
  readonly rank: number;
  readonly size: number;
  /**
   * How packets travel: 'udp' (the default) or 'websocket', binary messages on the same
   * WebSocket as the join (the switch's WebSocket door; for browsers and ranks without UDP).
   */
  readonly via?: 'udp' | 'websocket';
  /** Where a UDP worker receives results (the switch takes the host from the control connection); absent for 'websocket'. */
  readonly udpPort?: number;
  /** Slots the job asks for (its window W). */
  readonly window: number;
  readonly sizeClass: number;
  /**
   * The job's worker count over every switch of a two-level job (default `size`): the n the
   * workers quantize float32 with (scale INT32_MAX / (n 2^E)) and divide avg by.
   */
  readonly total?: number;
  /** For a leaf switch (`webccl switch --parent`): forward this job to the root as member `rank` of `size`. */
  readonly uplink?: { readonly rank: number; readonly size: number };
  /** The joiner is a leaf switch carrying workers of its own (named so in the root's errors). */
  readonly leaf?: boolean;
  /** A UDP worker that can join an IPv4 multicast group for its results (multicast.ts); absent: it cannot. */
  readonly multicast?: boolean;
}

export interface Welcome {
  readonly t: 'welcome';
  readonly job: number;
  readonly worker: number;
  /** The job's total worker count n (the join's `total`, else its `size`). */
  readonly workers: number;
  readonly slotBase: number;
  readonly window: number;
  readonly sizeClass: number;
  /** Where the data plane listens (UDP). */
  readonly udpPort: number;
  /**
   * The switch takes exponents-only packets (packet.ts); absent or false: send every packet
   * full (a switch without them, or SwitchML's hardware, drops them as malformed).
   */
  readonly exponentsOnly?: boolean;
  /**
   * The job's results come to this IPv4 group and port (join it before sending; multicast.ts);
   * absent: to the worker's own UDP port. Either way only datagrams from the switch's data
   * port count, and retransmission answers come to the worker's own port.
   */
  readonly multicast?: { readonly group: string; readonly port: number };
}

export interface Refused { readonly t: 'refused'; readonly reason: string }
export interface Ended { readonly t: 'ended'; readonly reason: string }
export type SwitchMessage = Welcome | Refused | Ended;

/** Parses a join; throws InvalidUsage naming what is wrong (sent back as the refusal). */
export function parseJoin(text: string): Join {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidUsage('first line is not a JSON hello');
  }
  return checkJoin(value);
}

/** Checks a join already parsed from JSON (the WebSocket door's hello); throws as parseJoin. */
export function checkJoin(value: unknown): Join {
  const join = value as Partial<Join> | null;
  if (join === null || typeof join !== 'object' || join.t !== 'hello' || join.role !== 'switch') throw invalidUsage('first line is not a switch hello');
  if (typeof join.secret !== 'string') throw invalidUsage('hello carries no secret');
  if (typeof join.world !== 'string' || join.world.length === 0 || join.world.length > 256) throw invalidUsage('hello names no job');
  if (!Number.isInteger(join.size) || join.size! < 1) throw invalidUsage(`hello has bad job size ${String(join.size)}`);
  if (!Number.isInteger(join.rank) || join.rank! < 0 || join.rank! >= join.size!) throw invalidUsage(`hello has rank ${String(join.rank)} for size ${String(join.size)}`);
  if (join.via !== undefined && join.via !== 'udp' && join.via !== 'websocket') throw invalidUsage(`hello asks for transport ${String(join.via)}`);
  if (join.via !== 'websocket' && (!Number.isInteger(join.udpPort) || join.udpPort! < 1 || join.udpPort! > 65535)) throw invalidUsage(`hello has bad udp port ${String(join.udpPort)}`);
  if (!Number.isInteger(join.window) || join.window! < 1 || join.window! > MAX_SLOTS) throw invalidUsage(`hello asks for ${String(join.window)} slots`);
  if (!isSizeClass(join.sizeClass!)) throw invalidUsage(`hello has size class ${String(join.sizeClass)}, not one of 0-7`);
  if (join.total !== undefined && (!Number.isInteger(join.total) || join.total < join.size! || join.total > MAX_TOTAL_WORKERS)) {
    throw invalidUsage(`hello has total ${String(join.total)} workers for size ${String(join.size)} (it must be in [size, ${MAX_TOTAL_WORKERS}])`);
  }
  const { uplink } = join;
  if (uplink !== undefined && (uplink === null || typeof uplink !== 'object' || !Number.isInteger(uplink.size) || uplink.size < 1 || !Number.isInteger(uplink.rank) || uplink.rank < 0 || uplink.rank >= uplink.size)) {
    throw invalidUsage(`hello has a bad uplink ${JSON.stringify(uplink)} (rank in [0, size))`);
  }
  if (join.leaf !== undefined && typeof join.leaf !== 'boolean') throw invalidUsage('hello has a non-boolean leaf flag');
  if (join.multicast !== undefined && typeof join.multicast !== 'boolean') throw invalidUsage('hello has a non-boolean multicast flag');
  return join as Join;
}

export function parseSwitchMessage(text: string): SwitchMessage {
  const message = JSON.parse(text) as SwitchMessage;
  if (message?.t !== 'welcome' && message?.t !== 'refused' && message?.t !== 'ended') throw invalidUsage(`unexpected switch message ${text.slice(0, 80)}`);
  return message;
}

/**
 * Splits a byte stream into lines of at most MAX_LINE_BYTES; `onLine` gets each, `onOverflow`
 * is called once when a line grows past the bound (the caller drops the connection), so
 * nobody can make the switch buffer more than that per connection.
 */
export class LineSplitter {
  private pending = '';
  private overflowed = false;
  constructor(private readonly onLine: (line: string) => void, private readonly onOverflow: () => void) {}

  push(chunk: string): void {
    if (this.overflowed) return;
    this.pending += chunk;
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      if (line.length > MAX_LINE_BYTES) return this.overflow();
      this.onLine(line);
      if (this.overflowed) return;
    }
    if (this.pending.length > MAX_LINE_BYTES) this.overflow();
  }

  private overflow(): void {
    this.overflowed = true;
    this.pending = '';
    this.onOverflow();
  }
}

/** 'host:port' or '[v6]:port' of a switch (TCP control and UDP data share the port). */
export function parseSwitchAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) throw invalidArgument(`switch address '${address}' is not host:port`);
  return { host: match[1] ?? match[2]!, port };
}

/** Where one switch listens: its UDP data plane ('host:port'), its WebSocket door (a URL), or both. */
export interface SwitchAddresses {
  readonly udp?: string;
  readonly webSocket?: string;
}

/**
 * A communicator's switch address: 'host:port' (UDP), a ws:// or wss:// URL (the WebSocket
 * door), or both separated by a comma (one switch reached either way: each rank takes the path
 * it can, so Node ranks on UDP and browser tabs on the door share one job).
 */
export function parseSwitchAddresses(list: string): SwitchAddresses {
  const parts = list.split(',').map((part) => part.trim());
  const found: { udp?: string; webSocket?: string } = {};
  for (const part of parts) {
    if (/^wss?:\/\//.test(part)) {
      if (found.webSocket !== undefined) throw invalidArgument(`switch address '${list}' names two WebSocket doors`);
      try {
        new URL(part);
      } catch {
        throw invalidArgument(`switch address '${list}': '${part}' is not a URL`);
      }
      found.webSocket = part;
    } else {
      if (found.udp !== undefined) throw invalidArgument(`switch address '${list}' names two host:port addresses`);
      parseSwitchAddress(part);
      found.udp = part;
    }
  }
  return found;
}
