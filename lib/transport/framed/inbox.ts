// Received messages waiting for recv(), keyed by (peer, comm, seq) and kept in arrival order,
// plus the recv() calls waiting for messages. Counts the bytes held per peer so the transport
// can stop reading from a peer whose messages nobody is asking for (receive backpressure).
import type { Message } from '../transport.js';

interface Waiter {
  resolve(message: Message): void;
  reject(error: Error): void;
}

/**
 * FIFO queues of one kind of item per (comm, seq) key. Kept in an object, not a Map: every
 * message adds a key and deletes it, and a long-lived Map churned so links each replaced table
 * to its successor (lib/pending-list.ts says what that costs). V8 makes an Object.create(null)
 * object in dictionary mode from the start (no hidden class per key), and a dictionary
 * rehashes into tables that are not linked.
 */
class KeyedQueues<T> {
  private queues: Record<string, T[]> = Object.create(null) as Record<string, T[]>;
  private keys = 0;
  push(key: string, item: T): void {
    const queue = this.queues[key];
    if (queue) queue.push(item);
    else {
      this.queues[key] = [item];
      this.keys++;
    }
  }
  shift(key: string): T | undefined {
    const queue = this.queues[key];
    if (!queue) return undefined;
    const item = queue.shift();
    if (queue.length === 0) {
      delete this.queues[key];
      this.keys--;
    }
    return item;
  }
  get empty(): boolean {
    return this.keys === 0;
  }
  drain(): T[] {
    const all = Object.values(this.queues).flat();
    this.queues = Object.create(null) as Record<string, T[]>;
    this.keys = 0;
    return all;
  }
}

interface PeerBox {
  readonly messages: KeyedQueues<Message>;
  readonly waiters: KeyedQueues<Waiter>;
  queuedBytes: number;
  /** Set once the peer's connection failed: recv() that would need new data rejects with it. */
  failure: Error | undefined;
}

export class Inbox {
  private readonly boxes: PeerBox[];

  /** `onChange(peer)` runs after anything that may change whether reading from peer should pause. */
  constructor(size: number, private readonly onChange: (peer: number) => void) {
    this.boxes = Array.from({ length: size }, () => ({
      messages: new KeyedQueues<Message>(), waiters: new KeyedQueues<Waiter>(), queuedBytes: 0, failure: undefined,
    }));
  }

  deliver(message: Message): void {
    const box = this.boxes[message.from]!;
    const key = keyOf(message.header.comm, message.header.seq);
    const waiter = box.waiters.shift(key);
    if (waiter) {
      waiter.resolve(message);
    } else {
      box.messages.push(key, message);
      box.queuedBytes += message.payload.byteLength;
    }
    this.onChange(message.from);
  }

  /**
   * The next message from `peer` for (comm, seq). Messages that arrived before a failure are
   * still handed out (a peer may finish and leave before its last message is consumed).
   */
  take(peer: number, comm: number, seq: number): Promise<Message> {
    const box = this.boxes[peer]!;
    const key = keyOf(comm, seq);
    const message = box.messages.shift(key);
    if (message) {
      box.queuedBytes -= message.payload.byteLength;
      this.onChange(peer);
      return Promise.resolve(message);
    }
    if (box.failure) return Promise.reject(box.failure);
    return new Promise((resolve, reject) => {
      box.waiters.push(key, { resolve, reject });
      this.onChange(peer);
    });
  }

  /** Rejects everyone waiting on `peer`, now and later. Keeps the first failure. */
  fail(peer: number, error: Error): void {
    const box = this.boxes[peer]!;
    box.failure ??= error;
    for (const waiter of box.waiters.drain()) waiter.reject(box.failure);
  }

  queuedBytes(peer: number): number {
    return this.boxes[peer]!.queuedBytes;
  }

  hasWaiters(peer: number): boolean {
    return !this.boxes[peer]!.waiters.empty;
  }

  failureOf(peer: number): Error | undefined {
    return this.boxes[peer]!.failure;
  }
}

function keyOf(comm: number, seq: number): string {
  return `${comm}:${seq}`;
}
