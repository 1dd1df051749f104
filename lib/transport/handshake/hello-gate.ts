// The accepting side of the hello, for every listener (rendezvous server, websocket mesh, tcp
// mesh): a connection gets a deadline for its hello, must send a well-formed one with the
// shared secret (compared in constant time), and is otherwise refused with a close code and a
// reason that the caller turns into its error. What an authenticated caller may do is up to
// each listener's `admit`. Until then a connection is a stranger's: it may send only a few
// bytes, and only so many strangers may wait at once (pending-hellos.ts).
import { detailOf } from '../../errors.js';
import type { Logger } from '../../log.js';
import { CLOSE_BAD_HELLO, CLOSE_HELLO_TIMEOUT, CLOSE_WRONG_SECRET, closeReason, parseHello, sameSecret, type Hello } from './handshake.js';
import type { PendingHellos } from './pending-hellos.js';

/**
 * What a connection may send before it is admitted, framing included: a hello is a few hundred
 * bytes (the tcp mesh's text records, hellos among them, stop at 4 KiB), so this leaves room
 * to spare while bounding what a stranger can make a listener hold.
 */
export const MAX_UNADMITTED_BYTES = 8 * 1024;

/**
 * How long an accepted connection may stay silent before its hello, unless a listener says less.
 * A rank sends its hello the moment the connection opens, so only strangers come near this.
 */
export const HELLO_TIMEOUT_MS = 5000;

export interface Refusal {
  readonly code: number;
  readonly reason: string;
}

/** One accepted connection before its hello, as each kind of socket presents it. */
export interface HelloDoor {
  /** Calls `listener` once, with the first message's text, or undefined when it is not text. */
  onFirstMessage(listener: (text: string | undefined) => void): void;
  onClose(listener: () => void): void;
  refuse(refusal: Refusal): void;
  /** Cuts the connection off at once, without a word (a stranger evicted to make room). */
  drop(): void;
}

export interface HelloGate {
  readonly secret: string;
  readonly timeoutMs: number;
  readonly log: Logger;
  /** Starts the log line of a refusal, e.g. 'rendezvous: refusing 127.0.0.1:5000'. */
  readonly refusing: string;
  /** The listener's connections that are waiting for their hello. */
  readonly pending: PendingHellos;
}

/**
 * Waits for the hello on `door`. An authenticated hello goes to `admit`, which either takes
 * the connection (and welcomes it) and returns undefined, or returns why it is refused.
 */
export function awaitHello(door: HelloDoor, gate: HelloGate, admit: (hello: Hello) => Refusal | undefined): void {
  const refuse = ({ code, reason }: Refusal) => {
    // A reason may quote what a stranger sent (e.g. its role): cut to what a close frame takes.
    const told = closeReason(reason);
    gate.log.warn(`${gate.refusing}: ${told}`);
    door.refuse({ code, reason: told });
  };
  const timer = setTimeout(() => refuse({ code: CLOSE_HELLO_TIMEOUT, reason: `no hello within ${gate.timeoutMs} ms` }), gate.timeoutMs);
  // The connection keeps the process alive if anything should; a stranger's wait must not.
  timer.unref?.();
  const leave = gate.pending.enter(() => {
    clearTimeout(timer);
    gate.log.warn(`${gate.refusing}: too many connections waiting for a hello; dropping the one that waited longest`);
    door.drop();
  });
  door.onClose(() => {
    clearTimeout(timer);
    leave();
  });
  door.onFirstMessage((text) => {
    clearTimeout(timer);
    leave();
    let hello: Hello;
    try {
      if (text === undefined) throw new Error('first message is not a text hello');
      hello = parseHello(text);
    } catch (error) {
      return refuse({ code: CLOSE_BAD_HELLO, reason: detailOf(error) });
    }
    if (!sameSecret(hello.secret, gate.secret)) {
      const claim = hello.rank === undefined ? '' : ` from a caller claiming rank ${hello.rank}`;
      return refuse({ code: CLOSE_WRONG_SECRET, reason: `wrong secret${claim}` });
    }
    const refusal = admit(hello);
    if (refusal) refuse(refusal);
  });
}
