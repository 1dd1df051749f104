// Ends a mesh connection (tcp or websocket) after a last record or frame (a refusal or a
// goodbye): it is flushed before the FIN, and a peer that never closes its side is cut off after
// a grace period. And writes a control message only while the connection is still open.
import type { Socket } from 'node:net';
import { CLOSE_GRACE_MS } from '../close-grace.js';

export function endPolitely(socket: Socket, lastRecord: Uint8Array): void {
  if (socket.destroyed || socket.writableEnded) return;
  socket.end(lastRecord);
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

/** Writes `bytes` unless the socket is gone or ending (a ping's answer, a notice: nothing to report if not). */
export function writeIfOpen(socket: Socket, bytes: Uint8Array): void {
  if (!socket.destroyed && !socket.writableEnded) socket.write(bytes);
}
