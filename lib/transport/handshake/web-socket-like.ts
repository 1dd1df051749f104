// The part of the WebSocket API that webccl's platform-neutral clients use. The browser's
// native WebSocket has it, and so does the `ws` package's WebSocket in Node (which is injected,
// since Node 20 has no global WebSocket).

export interface WebSocketEventLike {
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
}

export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: WebSocketEventLike) => void): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export const WEB_SOCKET_OPEN = 1;

/** The global WebSocket where there is one (browsers, Node >= 22), else undefined. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}
