// The dialling side of a websocket mesh connection (mesh/mesh-dialer.ts), and of a Node rank's
// relay connection (lib/rendezvous/relay-stream-client.ts): the upgrade request
// goes out on connecting, the hello as a text message once the server has accepted it, and the
// answer is the welcome (a text message) or a refusal (the acceptor's close frame).
import { WELCOME } from '../handshake/handshake.js';
import { dialMesh, type MeshDialOptions } from '../mesh/mesh-dialer.js';
import { handshakeKey, OPCODE, upgradeRefusal, upgradeRequest, wholeFrame } from './rfc6455.js';
import { WebSocketReader } from './ws-reader.js';

/**
 * `maxFramePayload`: the most bytes a binary message from the acceptor may carry (one webccl
 * frame); `path`: the URL path to upgrade on (default '/'; the relay's, for a relay connection).
 */
export function dialWebSocket(options: MeshDialOptions<WebSocketReader> & { readonly maxFramePayload: number; readonly path?: string }): Promise<void> {
  const key = handshakeKey();
  return dialMesh(options, {
    reader: (socket, outcome) => {
      const reader = new WebSocketReader({
        role: 'client',
        maxFramePayload: options.maxFramePayload,
        head: (text) => {
          const refusal = upgradeRefusal(text, key);
          if (refusal) {
            outcome.failed(refusal);
            return false;
          }
          socket().write(wholeFrame(OPCODE.text, new TextEncoder().encode(JSON.stringify(options.hello)), true));
          return true;
        },
      });
      reader.sink = {
        text: (text) => (text === WELCOME ? outcome.welcomed() : outcome.notWelcomed()),
        frameHead: () => {
          outcome.notWelcomed();
          return undefined;
        },
        framePayload: () => {},
        garbage: () => outcome.notWelcomed(),
        ping: () => {},
        closing: (code, reason) => outcome.refused(code, reason),
      };
      return reader;
    },
    opened: (socket) => socket.write(upgradeRequest(options.address, key, options.path)),
  });
}
