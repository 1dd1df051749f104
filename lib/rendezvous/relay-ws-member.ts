// A relay member on a `ws` socket (relay-member.ts): what a wss:// server accepts, and any
// client of the server's root path. ws hands over each message whole, in a buffer of its own;
// ws's 'error' events (protocol violations) are heard by the connection's door
// (web-socket-door.ts), after which ws closes the socket and its 'close' tells the hub.
import type { WebSocket } from 'ws';
import type { Hello } from '../transport/handshake/handshake.js';
import type { RelayHub } from './relay-hub.js';
import type { RelayMember } from './relay-member.js';

export function joinRelayWithWebSocket(hub: RelayHub, socket: WebSocket, hello: Hello, welcome: () => void): void {
  const member: RelayMember = {
    // ws sends one buffer a message: a frame in two parts (from a stream member) is joined here.
    sendFrame: (parts, done) => socket.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts), done),
    sendText: (text) => socket.send(text),
    close: (code, reason) => socket.close(code, reason),
    pauseReading: () => socket.pause(),
    resumeReading: () => socket.resume(),
    get readingPaused() {
      return socket.isPaused;
    },
  };
  const seat = hub.join(member, hello, welcome);
  if (!seat) return;
  socket.on('message', (data, isBinary) => seat.message(data as Buffer, isBinary));
  socket.on('close', (code, reason) => seat.left(code, reason.toString()));
}
