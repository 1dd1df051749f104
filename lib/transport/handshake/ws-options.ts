// The options every `ws` socket webccl opens or accepts shares (Node only): no compression, and
// a close that the peer does not finish within the grace is cut (ws would wait 30 s for a frozen
// or silent peer's close frame, holding the socket and the process).
import { CLOSE_GRACE_MS } from '../close-grace.js';

// `closeTimeout` (ws >= 8.19) is not in @types/ws yet; spread, it passes the type checks.
export const WS_SOCKET_OPTIONS: { readonly perMessageDeflate: false; readonly closeTimeout: number } = {
  perMessageDeflate: false,
  closeTimeout: CLOSE_GRACE_MS,
};
