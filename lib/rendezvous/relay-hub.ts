// The relay for browser ranks (a page cannot listen, so every frame goes through the server).
// Each world is `size` connections; a frame's route field names its destination on the way in
// and is rewritten to its source on the way out, so a rank cannot pose as another. Every frame
// is decoded before it is forwarded: garbage closes the sender's connection, never reaches a peer.
// A member's 'error' events (protocol violations) are heard by its door (web-socket-door.ts);
// ws then closes the socket, and its 'close' tells the others that the member is lost.
import { detailOf } from '../errors.js';
import type { WebSocket } from 'ws';
import { decodeFrame, rewriteFrameRoute } from '../transport/frame.js';
import type { WireLimits } from '../transport/framed/limits.js';
import { logger } from '../log.js';
import { CLOSE_BAD_FRAME, CLOSE_BAD_HELLO, CLOSE_DUPLICATE_RANK, closeReason, type Hello } from '../transport/handshake/handshake.js';
import type { RelayNotice } from './relay-notice.js';

const log = logger('NET');

interface Member {
  readonly socket: WebSocket;
  /** Bytes forwarded to this member that its socket has not written yet. */
  unsent: number;
  /** Sources paused because this member could not keep up. */
  readonly pausedSources: Set<WebSocket>;
}

interface World {
  readonly size: number;
  readonly members: Map<number, Member>;
}

export class RelayHub {
  private readonly worlds = new Map<string, World>();

  /** `switchPort`: the UDP port of the switch the server hosts, told to every world when it is ready. */
  constructor(private readonly limits: WireLimits, private readonly switchPort?: number) {}

  join(socket: WebSocket, hello: Hello, welcome: () => void): void {
    const name = hello.world!;
    const rank = hello.rank!;
    const size = hello.size!;
    let world = this.worlds.get(name);
    if (world && world.size !== size) return refuse(socket, CLOSE_BAD_HELLO, `relay world '${name}' has size ${world.size}, rank ${rank} says ${size}`);
    if (world?.members.has(rank)) return refuse(socket, CLOSE_DUPLICATE_RANK, `relay world '${name}' already has rank ${rank}`);
    if (!world) this.worlds.set(name, (world = { size, members: new Map() }));
    const joined = world;
    joined.members.set(rank, { socket, unsent: 0, pausedSources: new Set() });
    welcome();
    socket.on('message', (data, isBinary) => this.forward(joined, rank, data as Buffer, isBinary));
    socket.on('close', (code, reason) => this.leave(name, joined, rank, code, reason.toString()));
    if (joined.members.size === size) this.broadcast(joined, this.switchPort === undefined ? { t: 'ready' } : { t: 'ready', switchPort: this.switchPort });
  }

  private forward(world: World, from: number, data: Buffer, isBinary: boolean): void {
    const source = world.members.get(from)!.socket;
    let destination: number;
    try {
      if (!isBinary) throw new Error('text message after the hello');
      destination = decodeFrame(data, this.limits).route;
      if (destination >= world.size) throw new Error(`destination rank ${destination} is not in a world of ${world.size}`);
    } catch (error) {
      const reason = `relay: garbage from rank ${from}: ${detailOf(error)}`;
      log.warn(`${reason}; closing its connection`);
      source.close(CLOSE_BAD_FRAME, closeReason(reason));
      return;
    }
    const target = world.members.get(destination);
    if (!target) return; // It left: the sender has been (or is being) told that it is lost.
    rewriteFrameRoute(data, from);
    target.unsent += data.byteLength;
    target.socket.send(data, (error) => {
      target.unsent -= data.byteLength;
      if (!error && target.unsent <= this.limits.sendHighWaterBytes / 2) this.resumeSources(target);
    });
    // Hold the sender back while the receiver is slow, instead of queueing without bound here.
    if (target.unsent > this.limits.sendHighWaterBytes && !source.isPaused) {
      source.pause();
      target.pausedSources.add(source);
    }
  }

  private resumeSources(member: Member): void {
    for (const source of member.pausedSources) source.resume();
    member.pausedSources.clear();
  }

  private leave(name: string, world: World, rank: number, code: number, reason: string): void {
    const member = world.members.get(rank);
    if (!member) return;
    world.members.delete(rank);
    this.resumeSources(member);
    log.info(`relay world '${name}': rank ${rank} left (${code}${reason ? `: ${reason}` : ''})`);
    this.broadcast(world, { t: 'lost', rank, code, reason });
    if (world.members.size === 0) this.worlds.delete(name);
  }

  private broadcast(world: World, notice: RelayNotice): void {
    const text = JSON.stringify(notice);
    for (const member of world.members.values()) member.socket.send(text);
  }
}

function refuse(socket: WebSocket, code: number, reason: string): void {
  log.warn(`relay: refusing a connection: ${reason}`);
  socket.close(code, closeReason(reason));
}
