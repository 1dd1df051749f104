// The receives of one ring chunk pipeline (ring-steps.ts), each posted one step before the
// algorithm awaits it: when a step starts waiting for its message, the next step's receive is
// already listed with its landing (lib/memory/landing.ts), so a message that comes while this
// rank still works on the step before is applied on arrival (ntcp's expected receives: received
// or folded straight into `work` on the I/O thread) instead of waiting in a receive slot for a
// copy or fold on the event loop. On a transport or memory without landings a receive posted
// early is only a waiter registered earlier: the message is handed out the same way.
//
// Why posting early is safe (what a posted landing's span may have happen to it before its
// message arrives). A landing writes its span only when its own message comes: a transport
// matches a landing by the message's whole header (call, tag, signature), and tags are unique
// within a call. So the question is only whether something else may read or write that span
// between the posting and the message's arrival; posting earlier does not make the message come
// earlier, it only lets it land where it would otherwise have been copied or folded later.
// - Reduce-scatter receive s folds into piece s+1 (segment r-s-2), which this rank has neither
//   read nor written before: it is sent only after this fold (step s+1), the other steps send
//   and fold other segments, and the fold reads the span's own bytes (this rank's input).
// - All-gather receive s copies into segment r-s-1, which reduce-scatter sent at its step s
//   (folded into first, but for segment r-1: its own input, sent at once; the all-gather's first
//   receive, posted during reduce-scatter's last step, targets that segment, whose send from
//   `work` may still be in flight). The message that
//   lands there carries that segment's final sum, which exists only after every rank's partial
//   of it, this rank's included, was received whole by the next rank: by then this rank's send
//   has been read, and its fold into that segment (which preceded the send) is done.
// - Pipelines own disjoint chunks, and a pipeline posts nothing beyond its last receive, so once
//   a call has resolved no landing of it is listed.
// Failures: a receive posted ahead and never taken (its pipeline threw first) stays pending
// until the call's failure poisons the communicator, which rejects it (CallLink: health.watch);
// CallLink cancels a landing however its wait ends, in a microtask queued before the failed
// call's own rejection reaches its caller, so nothing lands in the caller's memory after the
// call is over. Its rejection is marked handled here; a taken receive is awaited as before.
// Deadlines start at posting, one step earlier than the wait itself: no wait is shortened by
// more than one step's time.
import { internalError } from '../errors.js';
import type { CollectiveContext, Region } from './context.js';
import type { Span } from './partition.js';

/** One receive of a pipeline: its tag, the elements it lands in, and how. */
export interface PlannedReceive {
  readonly tag: number;
  readonly span: Span;
  /** Folded into the span (reduce-scatter) rather than copied (all-gather). */
  readonly fold: boolean;
  /** Landing.answeredAtOnce: the caller sends back to the sender in the same turn. */
  readonly answeredAtOnce: boolean;
}

export class RingReceives {
  /** The receive posted ahead of its take, if any (at most one). */
  private ahead: { readonly index: number; readonly arrival: Promise<Uint8Array> } | undefined;

  constructor(
    private readonly ctx: Pick<CollectiveContext, 'link' | 'memory'>,
    private readonly work: Region,
    private readonly from: number,
    private readonly plan: readonly PlannedReceive[],
  ) {}

  /** Posts receive `index` before the algorithm asks for it (nothing if past the plan or one is posted). */
  postAhead(index: number): void {
    if (index >= this.plan.length || this.ahead) return;
    const arrival = this.post(index);
    // Awaited when taken; if the pipeline fails before, the call's failure is what reports.
    arrival.catch(() => undefined);
    this.ahead = { index, arrival };
  }

  /** Receive `index`'s message (posting it now unless it was posted ahead); receive index + 1 is posted too. */
  take(index: number): Promise<Uint8Array> {
    let arrival: Promise<Uint8Array>;
    if (this.ahead === undefined) arrival = this.post(index);
    else if (this.ahead.index === index) arrival = this.ahead.arrival;
    else throw internalError(`ring receive ${index} taken while receive ${this.ahead.index} was posted ahead`);
    this.ahead = undefined;
    this.postAhead(index + 1);
    return arrival;
  }

  private post(index: number): Promise<Uint8Array> {
    const { tag, span, fold, answeredAtOnce } = this.plan[index]!;
    const landing = this.ctx.memory.landing?.(this.work, span.offset, span.length, fold);
    return this.ctx.link.recv(this.from, tag, landing && answeredAtOnce ? { ...landing, answeredAtOnce } : landing);
  }
}
