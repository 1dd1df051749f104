// Fused receive: where a transport may apply a received payload the moment it arrives, instead
// of buffering it for the algorithm to copy or fold in later (NCCL's recvReduceSend reads the
// peer's bytes once, straight from the receive region). A Memory offers a Landing for a span of
// its own region (Memory.landing); the algorithm passes it with the receive (Link.recv); a
// transport that can apply it does so and resolves the receive with `target` itself, which
// tells the Memory's methods the bytes are already there. Transports that cannot simply
// ignore it, and the payload takes the buffered path.

import type { DataType, SimpleOp } from '../dtype.js';

export interface Landing {
  /** The span the payload belongs to: it must be exactly this many bytes to land. */
  readonly target: Uint8Array;
  /**
   * Absent: the payload is copied into `target`. Present: it is folded in, `into = into ⊕ bytes`
   * over views of equal length that are a multiple of `elementBytes` (a transport may fold a
   * payload piece by piece, each piece straight from where it was received).
   */
  readonly fold?: (into: Uint8Array, bytes: Uint8Array) => void;
  readonly elementBytes: number;
  /**
   * Present when `fold` is exactly the CPU reducer's accumulate(dtype, op) (avg accumulating as
   * sum): a transport with the native kernels (bit-identical to it) may then fold on its own I/O
   * thread, piece by piece as the payload arrives (the ntcp provider's expected receives).
   */
  readonly reduce?: { readonly dtype: DataType; readonly op: SimpleOp };
  /**
   * Set by a caller that sends to the payload's sender right after it lands, in the same event
   * loop turn (a 2-rank ring's last reduce-scatter step): a transport that acknowledges what it
   * read may let that send carry the acknowledgement instead of posting one of its own.
   */
  readonly answeredAtOnce?: boolean;
}
