// Text messages the relay sends to its members: everyone has joined, or one has left.
export type RelayNotice =
  | { readonly t: 'ready' }
  | { readonly t: 'lost'; readonly rank: number; readonly code: number; readonly reason: string };
