// The in-process transport: every rank lives in this JS realm (tests, several devices driven
// by one process). Ranks meet through a hub named by the id `inproc://<name>`; a message is a
// copy of the sender's payload put straight into the receiver's mailbox, so `send` resolves at
// once and the receiver owns what it gets. It follows the Transport contract to the letter,
// failures included, so that what passes here is what the websocket transport must also pass.
import { systemError } from '../errors.js';
import type { Header, Message, Transport, TransportFailure } from './transport.js';
import { transportNamed } from './registry.js';

export const INPROC_SCHEME = transportNamed('inproc')!.scheme;

interface Waiter {
  resolve(message: Message): void;
  reject(error: Error): void;
}

/** Messages from one peer for one (comm, seq), and the recv calls waiting for them. */
interface Queue {
  readonly messages: Message[];
  readonly waiters: Waiter[];
}

/** Where the ranks of one inproc world find each other. */
class Hub {
  readonly endpoints: (InprocTransport | undefined)[];
  /** Ranks that have connected at least once; a hub is forgotten when all of them closed. */
  readonly joined = new Set<number>();
  /** Messages sent to a rank before it connected, delivered when it does. */
  readonly early: Message[][];

  constructor(readonly name: string, readonly size: number) {
    this.endpoints = new Array<InprocTransport | undefined>(size).fill(undefined);
    this.early = Array.from({ length: size }, () => []);
  }
}

const hubs = new Map<string, Hub>();

function queueKey(peer: number, comm: number, seq: number): string {
  return `${peer}/${comm}/${seq}`;
}

export class InprocTransport implements Transport {
  readonly description = 'inproc';
  private readonly queues = new Map<string, Queue>();
  private readonly controlListeners: ((message: Message) => void)[] = [];
  private readonly failureListeners: ((failure: TransportFailure) => void)[] = [];
  /** Peers that closed: their queued messages stay readable, waiting for more fails. */
  private readonly gonePeers = new Map<number, Error>();
  private closedError: Error | undefined;

  constructor(private readonly hub: Hub, readonly rank: number) {}

  get size(): number {
    return this.hub.size;
  }

  async send(peer: number, header: Header, payload: Uint8Array): Promise<void> {
    this.checkPeer(peer, 'send');
    if (this.closedError) throw this.closedError;
    const gone = this.gonePeers.get(peer);
    if (gone) throw gone;
    // Copy: the caller may reuse `payload` as soon as we resolve, and the receiver owns its copy.
    const message: Message = { from: this.rank, header, payload: payload.slice() };
    const target = this.hub.endpoints[peer];
    if (target) target.deliver(message);
    else this.hub.early[peer]!.push(message);
  }

  recv(peer: number, comm: number, seq: number): Promise<Message> {
    this.checkPeer(peer, 'recv');
    if (this.closedError) return Promise.reject(this.closedError);
    const queue = this.queue(queueKey(peer, comm, seq));
    const message = queue.messages.shift();
    if (message) {
      if (queue.messages.length === 0 && queue.waiters.length === 0) this.queues.delete(queueKey(peer, comm, seq));
      return Promise.resolve(message);
    }
    const gone = this.gonePeers.get(peer);
    if (gone) return Promise.reject(gone);
    return new Promise((resolve, reject) => queue.waiters.push({ resolve, reject }));
  }

  onControl(listener: (message: Message) => void): void {
    this.controlListeners.push(listener);
  }

  onFailure(listener: (failure: TransportFailure) => void): void {
    this.failureListeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closedError) return;
    this.closedError = systemError(`inproc ${this.hub.name}: rank ${this.rank}'s transport is closed`);
    for (const queue of this.queues.values()) for (const waiter of queue.waiters) waiter.reject(this.closedError);
    this.queues.clear();
    this.hub.endpoints[this.rank] = undefined;
    // Every other rank sees this one go, as it would see a dropped connection.
    for (const other of this.hub.endpoints) other?.peerGone(this.rank);
    if (this.hub.endpoints.every((e) => e === undefined) && this.hub.joined.size === this.hub.size) {
      hubs.delete(this.hub.name);
    }
  }

  /** Called by the hub on the receiving side. */
  deliver(message: Message): void {
    if (this.closedError) return;
    if (message.header.signature.kind === 'control') {
      // Out of band, but never re-entrant: listeners run after the sender's call returns.
      queueMicrotask(() => { for (const listener of this.controlListeners) listener(message); });
      return;
    }
    const key = queueKey(message.from, message.header.comm, message.header.seq);
    const queue = this.queue(key);
    const waiter = queue.waiters.shift();
    if (waiter) waiter.resolve(message);
    else queue.messages.push(message);
    if (queue.messages.length === 0 && queue.waiters.length === 0) this.queues.delete(key);
  }

  /** Called by the hub when `peer` closed. */
  peerGone(peer: number): void {
    if (this.closedError || this.gonePeers.has(peer)) return;
    const error = systemError(`inproc ${this.hub.name}: rank ${this.rank} lost rank ${peer} (its transport closed)`);
    this.gonePeers.set(peer, error);
    const prefix = `${peer}/`;
    for (const [key, queue] of this.queues) {
      if (!key.startsWith(prefix)) continue;
      for (const waiter of queue.waiters.splice(0)) waiter.reject(error);
      if (queue.messages.length === 0) this.queues.delete(key);
    }
    const failure: TransportFailure = { peer, error };
    queueMicrotask(() => { for (const listener of this.failureListeners) listener(failure); });
  }

  private queue(key: string): Queue {
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { messages: [], waiters: [] };
      this.queues.set(key, queue);
    }
    return queue;
  }

  private checkPeer(peer: number, what: string): void {
    if (!Number.isInteger(peer) || peer < 0 || peer >= this.size || peer === this.rank) {
      throw systemError(`inproc ${this.hub.name}: rank ${this.rank} cannot ${what} to/from peer ${peer} (size ${this.size})`);
    }
  }
}

/** The name in an `inproc://<name>` id, or undefined when the id is not an inproc one. */
export function inprocName(id: string): string | undefined {
  return id.startsWith(INPROC_SCHEME) ? id.slice(INPROC_SCHEME.length) : undefined;
}

/**
 * Joins the inproc world `name` as `rank` of `size`. The first rank to join creates the hub;
 * the others must agree on its size. A rank cannot join twice while its transport is open.
 */
export function connectInproc(name: string, rank: number, size: number): InprocTransport {
  if (!Number.isInteger(size) || size < 1) throw systemError(`inproc ${name}: size ${size} is not a positive integer`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw systemError(`inproc ${name}: rank ${rank} is outside 0..${size - 1}`);
  let hub = hubs.get(name);
  if (hub && hub.joined.has(rank)) {
    // This rank was here before: a finished world of the same name is replaced by a fresh one,
    // but a rank cannot rejoin a world whose other ranks are still running.
    if (hub.endpoints.some((e) => e !== undefined)) throw systemError(`inproc ${name}: rank ${rank} already joined this world`);
    hubs.delete(name);
    hub = undefined;
  }
  if (!hub) {
    hub = new Hub(name, size);
    hubs.set(name, hub);
  }
  if (hub.size !== size) throw systemError(`inproc ${name}: rank ${rank} says size ${size} but the world has size ${hub.size}`);
  const transport = new InprocTransport(hub, rank);
  hub.endpoints[rank] = transport;
  hub.joined.add(rank);
  for (const message of hub.early[rank]!.splice(0)) transport.deliver(message);
  // Ranks that came and went before this one joined are gone for it too.
  for (const peer of hub.joined) if (peer !== rank && hub.endpoints[peer] === undefined) transport.peerGone(peer);
  return transport;
}
