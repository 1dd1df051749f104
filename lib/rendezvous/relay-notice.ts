// Text messages the relay sends to its members: everyone has joined, or one has left.
export type RelayNotice =
  /** `switchPort`: the server hosts a switch (webccl serve --switch): UDP on this port of the server's host, its WebSocket door on the server's own URL. */
  | { readonly t: 'ready'; readonly switchPort?: number }
  | { readonly t: 'lost'; readonly rank: number; readonly code: number; readonly reason: string };

/**
 * The URL path relay clients dial on the rendezvous server: a ws:// server reads it with its own
 * reader (relay-stream.ts), payloads straight into pooled memory; any other path, and every path
 * of a wss:// server, goes through ws.
 */
export const RELAY_PATH = '/relay';
