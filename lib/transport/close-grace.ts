// How long a connection we close waits for the peer to finish the close (its WebSocket close
// frame, its end of a tcp stream) before it is cut. A peer that is frozen, gone or hostile must
// not keep a socket, and with it the process, alive: a rank that finished exits within this.
export const CLOSE_GRACE_MS = 1000;
