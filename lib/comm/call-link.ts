// The Link of one call on one communicator: messages carry the communicator's channel, the
// call's sequence number, its signature, and (in the chunk field) its schedule and the
// message's tag. Receiving pulls the peer's messages for this call in order from the transport
// and hands each to whoever awaits its tag, so an algorithm may run several pipelines at once.
// Every message is checked against this rank's own call: a difference is reported as
// InvalidUsage naming both ranks and both calls, before any of its data is used.
import type { Landing, Link } from '../collectives/context.js';
import { asWebcclError, internalError, invalidUsage, timeoutError, type WebcclError } from '../errors.js';
import type { Header, Message, Signature, Transport } from '../transport/transport.js';
import type { Health } from './health.js';
import { decodeChunkField, encodeChunkField, formatCall, sameSignature, type Schedule } from './signature.js';

/** What a call link needs from its communicator. */
export interface LinkOwner {
  readonly transport: Transport;
  readonly health: Health;
  /** This rank, in the communicator. */
  readonly rank: number;
  /** A communicator rank's rank on the transport. */
  transportRank(peer: number): number;
  /** For messages: e.g. `communicator 0 (rank 1 of 4)`. */
  readonly name: string;
  /** Tells the other ranks that this call went wrong, so that none of them waits for it. */
  reportUsageError(error: WebcclError): void;
  /** Counts payload bytes handed to the transport (webccl-perf's wire column reads the total). */
  recordSent(bytes: number): void;
}

export interface CallIdentity {
  /** Header `comm`: the communicator's collective channel, or its point-to-point channel. */
  readonly channel: number;
  readonly seq: number;
  readonly signature: Signature;
  readonly schedule: Schedule;
}

interface Waiter {
  resolve(payload: Uint8Array): void;
  reject(error: unknown): void;
}

/** Messages from one peer: arrived ahead of their reader, or awaited before arrival. */
interface Mailbox {
  readonly early: Map<number, Uint8Array>;
  readonly waiting: Map<number, Waiter>;
  pumping: boolean;
}

export class CallLink implements Link {
  // Both made at first use: a call with no message (the board's) never needs them.
  private mailboxes: Map<number, Mailbox> | undefined;
  /** Payloads handed to the algorithm whose transport recycles them, until it releases them. */
  private held: Map<Uint8Array, () => void> | undefined;
  constructor(private readonly owner: LinkOwner, private readonly call: CallIdentity) {}

  /** e.g. `allReduce(count=2, float32, sum) [direct] #7`, for messages (built only when one is). */
  private get description(): string {
    return `${formatCall(this.call.signature, this.call.schedule)} #${this.call.seq}`;
  }

  private header(tag: number): Header {
    const { call } = this;
    return { comm: call.channel, seq: call.seq, signature: call.signature, chunk: encodeChunkField(call.schedule, tag) };
  }

  send(peer: number, tag: number, payload: Uint8Array): Promise<void> {
    const { owner } = this;
    const header = this.header(tag);
    const sent = owner.transport.send(owner.transportRank(peer), header, payload);
    owner.recordSent(payload.byteLength);
    return owner.health.watch(sent, () => timeoutError(
      `${owner.name}: sending to rank ${peer} in ${this.description} made no progress for ${owner.health.timeoutMs} ms`,
    ));
  }

  recv(peer: number, tag: number, landing?: Landing): Promise<Uint8Array> {
    const mailbox = this.mailbox(peer);
    const early = mailbox.early.get(tag);
    if (early) {
      mailbox.early.delete(tag);
      return Promise.resolve(early);
    }
    if (mailbox.waiting.has(tag)) return Promise.reject(internalError(`${this.owner.name}: tag ${tag} from rank ${peer} awaited twice`));
    const arrival = new Promise<Uint8Array>((resolve, reject) => mailbox.waiting.set(tag, { resolve, reject }));
    const { transport } = this.owner;
    const cancel = landing && transport.land?.(this.owner.transportRank(peer), this.header(tag), landing);
    void this.pump(peer, mailbox);
    const watched = this.owner.health.watch(arrival, () => timeoutError(
      `${this.owner.name} waited ${this.owner.health.timeoutMs} ms for rank ${peer} in ${this.description}; rank ${peer} never sent (is it running the same calls?)`,
    ));
    // Cancelled however the wait ends (a timeout or a failure included): once a call is over,
    // nothing may land in its memory.
    if (cancel) watched.then(cancel, cancel);
    return watched;
  }

  release(payload: Uint8Array): void {
    const release = this.held?.get(payload);
    if (!release) return;
    this.held!.delete(payload);
    release();
  }

  private mailbox(peer: number): Mailbox {
    this.mailboxes ??= new Map();
    let mailbox = this.mailboxes.get(peer);
    if (!mailbox) {
      mailbox = { early: new Map(), waiting: new Map(), pumping: false };
      this.mailboxes.set(peer, mailbox);
    }
    return mailbox;
  }

  /** Pulls the peer's messages for this call while someone waits for one; one pump per peer. */
  private async pump(peer: number, mailbox: Mailbox): Promise<void> {
    if (mailbox.pumping) return;
    mailbox.pumping = true;
    const { owner, call } = this;
    try {
      while (mailbox.waiting.size > 0 && !owner.health.error) {
        const message = await owner.transport.recv(owner.transportRank(peer), call.channel, call.seq);
        this.deliver(peer, mailbox, message);
      }
    } catch (error) {
      const failure = asWebcclError(error, 'SystemError', `${owner.name}: receiving from rank ${peer} in ${this.description}`);
      for (const waiter of mailbox.waiting.values()) waiter.reject(failure);
      mailbox.waiting.clear();
      owner.health.fail(failure);
    } finally {
      mailbox.pumping = false;
    }
  }

  private deliver(peer: number, mailbox: Mailbox, message: Message): void {
    const { schedule, tag } = decodeChunkField(message.header.chunk);
    const { signature } = message.header;
    if (!sameSignature(signature, this.call.signature) || schedule !== this.call.schedule) {
      const error = invalidUsage(
        `mismatched calls #${this.call.seq} on ${this.owner.name}: rank ${this.owner.rank} called ${formatCall(this.call.signature, this.call.schedule)}`
        + ` but rank ${peer} called ${formatCall(signature, schedule)}`,
      );
      this.owner.reportUsageError(error);
      throw error;
    }
    if (message.release) (this.held ??= new Map()).set(message.payload, message.release);
    const waiter = mailbox.waiting.get(tag);
    if (waiter) {
      mailbox.waiting.delete(tag);
      waiter.resolve(message.payload);
    } else if (mailbox.early.has(tag)) {
      throw internalError(`${this.owner.name}: rank ${peer} sent tag ${tag} twice in ${this.description}`);
    } else {
      mailbox.early.set(tag, message.payload);
    }
  }
}
