// Text messages the relay sends to its members: everyone has joined, or one has left.
export type RelayNotice =
  /** `switchPort`: the server hosts a switch (webccl serve --switch): UDP on this port of the server's host, its WebSocket door on the server's own URL. */
  | { readonly t: 'ready'; readonly switchPort?: number }
  | { readonly t: 'lost'; readonly rank: number; readonly code: number; readonly reason: string };
