// The `ws` package's WebSocket as a WebSocketConstructor for the platform-neutral clients
// (Node 20 has no global WebSocket), with webccl's settings: no compression, bounded messages,
// a close cut short when the server does not finish it (ws-options.ts).
import { WebSocket } from 'ws';
import { maxFrameBytes, withLimits, type WireLimits } from '../framed/limits.js';
import type { WebSocketConstructor } from './web-socket-like.js';
import { WS_SOCKET_OPTIONS } from './ws-options.js';

export function nodeWebSocket(limits?: Partial<WireLimits>): WebSocketConstructor {
  const maxPayload = maxFrameBytes(withLimits(limits));
  return class extends WebSocket {
    constructor(url: string) {
      super(url, { ...WS_SOCKET_OPTIONS, maxPayload });
    }
  } as unknown as WebSocketConstructor;
}
