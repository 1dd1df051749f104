// The relay for browser ranks (a page cannot listen, so every frame goes through the server).
// Each world is `size` connections; a frame's route field names its destination on the way in
// and is rewritten to its source on the way out, so a rank cannot pose as another. Every frame
// is decoded before it is forwarded: garbage closes the sender's connection, never reaches a peer.
// A member is any connection that carries webccl frames (relay-member.ts): a `ws` socket hands
// over whole messages; the server's own stream reader hands over a frame's header first, and
// its payload is read into pooled memory that is written on to the destination from there and
// reused once the destination's socket has it (no allocation or copy a hop).
import { detailOf } from '../errors.js';
import { decodeFrame, decodeFrameHead, rewriteFrameRoute } from '../transport/frame.js';
import type { WireLimits } from '../transport/framed/limits.js';
import { PayloadPool, type PooledPayload } from '../transport/framed/payload-pool.js';
import { logger } from '../log.js';
import { CLOSE_BAD_FRAME, CLOSE_BAD_HELLO, CLOSE_DUPLICATE_RANK, closeReason, type Hello } from '../transport/handshake/handshake.js';
import type { RelayNotice } from './relay-notice.js';
import type { RelayMember, RelaySeat } from './relay-member.js';

const log = logger('NET');

/** Freed payload memory the hub keeps for the next frames (a few frames of the default 4 MiB segment). */
const RETAINED_PAYLOAD_BYTES = 32 << 20;

interface Seated {
  readonly member: RelayMember;
  /** Bytes forwarded to this member that its socket has not taken yet. */
  unsent: number;
  /** Sources paused because this member could not keep up. */
  readonly pausedSources: Set<RelayMember>;
}

interface World {
  readonly size: number;
  readonly members: Map<number, Seated>;
}

export class RelayHub {
  private readonly worlds = new Map<string, World>();
  private readonly payloads = new PayloadPool({ retainBytes: RETAINED_PAYLOAD_BYTES, poison: false });

  /** `switchPort`: the UDP port of the switch the server hosts, told to every world when it is ready. */
  constructor(private readonly limits: WireLimits, private readonly switchPort?: number) {}

  /** Seats `member` as `hello`'s rank in its world and welcomes it; undefined where it is refused (and closed). */
  join(member: RelayMember, hello: Hello, welcome: () => void): RelaySeat | undefined {
    const name = hello.world!;
    const rank = hello.rank!;
    const size = hello.size!;
    let world = this.worlds.get(name);
    if (world && world.size !== size) return refuse(member, CLOSE_BAD_HELLO, `relay world '${name}' has size ${world.size}, rank ${rank} says ${size}`);
    if (world?.members.has(rank)) return refuse(member, CLOSE_DUPLICATE_RANK, `relay world '${name}' already has rank ${rank}`);
    if (!world) this.worlds.set(name, (world = { size, members: new Map() }));
    const joined = world;
    joined.members.set(rank, { member, unsent: 0, pausedSources: new Set() });
    welcome();
    if (joined.members.size === size) this.broadcast(joined, this.switchPort === undefined ? { t: 'ready' } : { t: 'ready', switchPort: this.switchPort });
    return this.seat(name, joined, rank, member);
  }

  private seat(name: string, world: World, from: number, member: RelayMember): RelaySeat {
    const garbage = (detail: string) => {
      const reason = `relay: garbage from rank ${from}: ${detail}`;
      log.warn(`${reason}; closing its connection`);
      member.close(CLOSE_BAD_FRAME, closeReason(reason));
    };
    // The stream's frame between its header and its payload: the header (copied), its destination, its memory.
    let pending: { head: Uint8Array; to: number; payload: PooledPayload } | undefined;
    return {
      message: (data, isBinary) => {
        let to: number;
        try {
          if (!isBinary) throw new Error('text message after the hello');
          to = this.destination(world, decodeFrame(data, this.limits).route);
        } catch (error) {
          return garbage(detailOf(error));
        }
        rewriteFrameRoute(data, from);
        this.forward(world, member, to, [data], () => {});
      },
      frameHead: (head) => {
        let to: number;
        let segmentBytes: number;
        try {
          const decoded = decodeFrameHead(head, this.limits);
          to = this.destination(world, decoded.route);
          segmentBytes = decoded.segmentBytes;
        } catch (error) {
          garbage(detailOf(error));
          return undefined;
        }
        const copy = head.slice();
        rewriteFrameRoute(copy, from);
        pending = { head: copy, to, payload: this.payloads.take(segmentBytes) };
        return pending.payload.bytes;
      },
      framePayload: () => {
        const frame = pending!;
        pending = undefined;
        this.forward(world, member, frame.to, [frame.head, frame.payload.bytes], frame.payload.release);
      },
      garbage,
      left: (code, reason) => {
        pending?.payload.release();
        pending = undefined;
        this.leave(name, world, from, code, reason);
      },
    };
  }

  /** The rank a frame is routed to, checked against the world (throws what is wrong). */
  private destination(world: World, route: number): number {
    if (route >= world.size) throw new Error(`destination rank ${route} is not in a world of ${world.size}`);
    return route;
  }

  /** Sends a frame's `parts` from `source` on to rank `to`; `done` when their memory is free again. */
  private forward(world: World, source: RelayMember, to: number, parts: readonly Uint8Array[], done: () => void): void {
    const target = world.members.get(to);
    // It left: the sender has been (or is being) told that it is lost.
    if (!target) return done();
    const bytes = parts.reduce((sum, part) => sum + part.byteLength, 0);
    target.unsent += bytes;
    target.member.sendFrame(parts, (error) => {
      target.unsent -= bytes;
      done();
      if (!error && target.unsent <= this.limits.sendHighWaterBytes / 2) this.resumeSources(target);
    });
    // Hold the sender back while the receiver is slow, instead of queueing without bound here.
    if (target.unsent > this.limits.sendHighWaterBytes && !source.readingPaused) {
      source.pauseReading();
      target.pausedSources.add(source);
    }
  }

  private resumeSources(seated: Seated): void {
    for (const source of seated.pausedSources) source.resumeReading();
    seated.pausedSources.clear();
  }

  private leave(name: string, world: World, rank: number, code: number, reason: string): void {
    const seated = world.members.get(rank);
    if (!seated) return;
    world.members.delete(rank);
    this.resumeSources(seated);
    log.info(`relay world '${name}': rank ${rank} left (${code}${reason ? `: ${reason}` : ''})`);
    this.broadcast(world, { t: 'lost', rank, code, reason });
    if (world.members.size === 0) this.worlds.delete(name);
  }

  private broadcast(world: World, notice: RelayNotice): void {
    const text = JSON.stringify(notice);
    for (const seated of world.members.values()) seated.member.sendText(text);
  }
}

function refuse(member: RelayMember, code: number, reason: string): undefined {
  log.warn(`relay: refusing a connection: ${reason}`);
  member.close(code, closeReason(reason));
  return undefined;
}
