// One transport may carry several communicators (a world and its splits), told apart by the
// header's comm field. This routes control messages and transport failures to the right
// communicator and closes the transport when the last communicator that owns it is destroyed.
import { internalError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { Header, Transport, TransportFailure } from '../transport/transport.js';
import { signature } from './signature.js';

/** Out-of-band news between the ranks of a communicator (payload of a 'control' message). */
export type ControlNotice =
  | { readonly type: 'abort' }
  | { readonly type: 'error'; readonly code: ErrorCode; readonly message: string }
  /** A call failed on the sender itself (a bad buffer, a GPU error): its peers fail it too. */
  | { readonly type: 'failed'; readonly code: ErrorCode; readonly message: string }
  /** The sender destroyed the communicator cleanly: its going away later is not a failure. */
  | { readonly type: 'bye' };

export interface Endpoint {
  /** Channels (header comm ids) this communicator uses; control comes on the first. */
  readonly channels: readonly number[];
  onControl(fromTransportRank: number, notice: ControlNotice): void;
  onTransportFailure(failure: TransportFailure): void;
}

const CONTROL_SIGNATURE = signature('control', 0);

export class SharedTransport {
  private static readonly shared = new WeakMap<Transport, SharedTransport>();

  static of(transport: Transport): SharedTransport {
    let shared = SharedTransport.shared.get(transport);
    if (!shared) {
      shared = new SharedTransport(transport);
      SharedTransport.shared.set(transport, shared);
    }
    return shared;
  }

  private readonly endpoints = new Map<number, Endpoint>();
  private closing: Promise<void> | undefined;
  /** Whether the transport is closed when its last endpoint leaves (we opened it). */
  owned = false;

  private constructor(readonly transport: Transport) {
    transport.onControl((message) => {
      const endpoint = this.endpoints.get(message.header.comm);
      const notice = decodeNotice(message.payload);
      if (endpoint && notice) endpoint.onControl(message.from, notice);
    });
    transport.onFailure((failure) => {
      for (const endpoint of new Set(this.endpoints.values())) endpoint.onTransportFailure(failure);
    });
  }

  register(endpoint: Endpoint): void {
    for (const channel of endpoint.channels) {
      if (this.endpoints.has(channel)) throw internalError(`communicator channel ${channel} is already in use on this transport`);
    }
    for (const channel of endpoint.channels) this.endpoints.set(channel, endpoint);
  }

  /** Forgets the endpoint; closes the transport if we own it and nobody else uses it. */
  async unregister(endpoint: Endpoint): Promise<void> {
    for (const channel of endpoint.channels) if (this.endpoints.get(channel) === endpoint) this.endpoints.delete(channel);
    if (this.endpoints.size === 0 && this.owned) {
      this.closing ??= this.transport.close();
      await this.closing;
    }
  }

  sendControl(transportRank: number, channel: number, notice: ControlNotice): Promise<void> {
    const header: Header = { comm: channel, seq: 0, signature: CONTROL_SIGNATURE, chunk: 0 };
    return this.transport.send(transportRank, header, new TextEncoder().encode(JSON.stringify(notice)));
  }
}

function decodeNotice(payload: Uint8Array): ControlNotice | undefined {
  try {
    const notice = JSON.parse(new TextDecoder().decode(payload)) as ControlNotice;
    return ['abort', 'error', 'failed', 'bye'].includes(notice.type) ? notice : undefined;
  } catch {
    return undefined;
  }
}
