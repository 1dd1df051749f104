// Size bounds shared by every framed transport (websocket mesh, relay client and server, tcp
// mesh). Segment size bounds every frame (and so ws's maxPayload); the high-water marks bound
// what may sit in queues on either side of a connection before the sender is made to wait.
import { HEADER_BYTES, type FrameLimits } from '../frame.js';

export interface WireLimits extends FrameLimits {
  /** Bytes handed to a socket but not yet written, past which send() waits. */
  readonly sendHighWaterBytes: number;
  /** Bytes received from one peer but not yet claimed by recv(), past which reading pauses. */
  readonly receiveHighWaterBytes: number;
}

export const DEFAULT_LIMITS: WireLimits = {
  maxSegmentBytes: 4 << 20,
  maxMessageBytes: 2 ** 31,
  sendHighWaterBytes: 8 << 20,
  receiveHighWaterBytes: 16 << 20,
};

/** The largest frame (header and payload) a webccl endpoint accepts: one full segment; ws's maxPayload. */
export function maxFrameBytes(limits: FrameLimits): number {
  return HEADER_BYTES + limits.maxSegmentBytes;
}

export function withLimits(overrides: Partial<WireLimits> | undefined): WireLimits {
  return { ...DEFAULT_LIMITS, ...overrides };
}
