// An accepted `ws` connection as a HelloDoor: text messages are hellos, close codes carry refusals.
import type { WebSocket } from 'ws';
import { closeReason } from './handshake.js';
import type { HelloDoor } from './hello-gate.js';

export function webSocketDoor(socket: WebSocket): HelloDoor {
  return {
    onFirstMessage: (listener) => socket.once('message', (data, isBinary) => listener(isBinary ? undefined : String(data))),
    onClose: (listener) => socket.once('close', listener),
    refuse: ({ code, reason }) => socket.close(code, closeReason(reason)),
  };
}
