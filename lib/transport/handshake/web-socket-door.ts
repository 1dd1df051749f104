// An accepted `ws` connection as a HelloDoor: text messages are hellos, close codes carry
// refusals. It also guards the connection for the rest of its life, admitted or not:
// - ws reports a peer's protocol violation (a frame longer than maxPayload, invalid UTF-8, a
//   reserved opcode or RSV bit, an unmasked frame) as an 'error' on the socket and then closes
//   it itself; unheard, that event would end the process, so it is logged here.
// - ws's maxPayload is one number per server, sized for the frames of admitted peers (MiBs).
//   Until the connection is admitted, the bytes it sends are counted on the underlying stream
//   instead, and past MAX_UNADMITTED_BYTES it is cut off: what ws buffers for a stranger is
//   bounded by that and one socket read. A refused connection stays counted until it closes.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from '../../log.js';
import { MAX_UNADMITTED_BYTES, type HelloDoor } from './hello-gate.js';

/**
 * `stream` is the upgraded socket under `socket` (the request's socket in ws's 'connection'
 * event); `who` names the connection in logs, e.g. 'rendezvous: connection from 127.0.0.1:5000'.
 */
export function webSocketDoor(socket: WebSocket, stream: Duplex, who: string, log: Logger): HelloDoor {
  socket.on('error', (error) => log.warn(`${who}: ${error.message}; closing it`));
  let admitted = false;
  let refused = false;
  let received = 0;
  const count = (chunk: Buffer) => {
    // ws reads the same chunk first: if it held the hello that admitted the connection, the
    // chunk was the hello's and is not counted.
    if (admitted) return;
    received += chunk.byteLength;
    if (received <= MAX_UNADMITTED_BYTES) return;
    stream.off('data', count);
    log.warn(`${who}: sent more than ${MAX_UNADMITTED_BYTES} bytes without being admitted; cutting it off`);
    socket.terminate();
  };
  stream.on('data', count);
  socket.once('close', () => stream.off('data', count));
  return {
    onFirstMessage: (listener) => socket.once('message', (data, isBinary) => {
      listener(isBinary ? undefined : String(data));
      if (refused) return;
      admitted = true;
      stream.off('data', count);
    }),
    onClose: (listener) => socket.once('close', listener),
    refuse: ({ code, reason }) => {
      refused = true;
      socket.close(code, reason);
    },
    drop: () => socket.terminate(),
  };
}
