// The accepting side of the websocket mesh (mesh/mesh-listener.ts): the connection's first bytes
// must be a WebSocket upgrade request, answered 101 (anything else gets 426 and the end); then a
// text message for the hello and for the welcome, and a close frame for a refusal (before the
// upgrade, just the end).
import { WELCOME } from '../handshake/handshake.js';
import { endPolitely } from '../mesh/end-politely.js';
import { meshDoor } from '../mesh/mesh-door.js';
import type { AcceptProtocol } from '../mesh/mesh-listener.js';
import { closeFrame, NOT_AN_UPGRADE, OPCODE, upgradeKeyOf, upgradeResponse, wholeFrame } from './rfc6455.js';
import { WebSocketReader } from './ws-reader.js';

/** `maxFramePayload`: the most bytes a binary message from an admitted peer may carry (one webccl frame). */
export function webSocketAccept(maxFramePayload: number, log: { warn(line: string): void }): AcceptProtocol<WebSocketReader> {
  return {
    name: 'websocket mesh',
    reader: (socket, who) => new WebSocketReader({
      role: 'server',
      maxFramePayload,
      head: (text) => {
        const request = upgradeKeyOf(text);
        if ('problem' in request) {
          log.warn(`${who}: ${request.problem}; answering 426`);
          endPolitely(socket(), new TextEncoder().encode(NOT_AN_UPGRADE));
          return false;
        }
        socket().write(upgradeResponse(request.key));
        return true;
      },
    }),
    door: (socket, reader) => meshDoor(socket, reader, {
      sink: (common) => ({ ...common, ping: () => {}, closing: () => socket.destroy() }),
      refusal: ({ code, reason }) => (reader.upgraded ? closeFrame(code, reason, false) : undefined),
    }),
    welcome: (socket) => socket.write(wholeFrame(OPCODE.text, new TextEncoder().encode(WELCOME), false)),
  };
}
