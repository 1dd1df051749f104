// A Node rank's relay connection (relay-client.ts's RelayDial), spoken on the raw socket as the
// websocket mesh speaks it: the relay's frames are read from the kernel straight into their
// messages (websocket/ws-reader.ts) and sent as one writev each under the all-zero mask key,
// where the browser's WebSocket API (and `ws` behind it in Node) allocates a buffer for every
// message received and copies every one sent (docs/PERFORMANCE.md, relay37). The server reads
// this path with the same reader (relay-stream.ts). Node only; a wss:// server is dialled with
// the WebSocket.
import { dialWebSocket } from '../transport/websocket/web-socket-dialer.js';
import { WebSocketChannel } from '../transport/websocket/web-socket-channel.js';
import type { RelayDial } from './relay-client.js';
import { RELAY_PATH } from './relay-notice.js';

export const dialRelayStream: RelayDial = async ({ address, hello, timeoutMs, who, maxFramePayload, transport, notice }) => {
  let channel: WebSocketChannel | undefined;
  await dialWebSocket({
    address, hello, timeoutMs, who, maxFramePayload, path: RELAY_PATH,
    // Synchronously on the welcome: frames and notices may follow it in the same read.
    adopt: (socket, reader) => { channel = new WebSocketChannel(socket, reader, undefined, transport, true, notice); },
  });
  return channel!;
};
