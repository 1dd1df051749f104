// An accepted tcp connection as a HelloDoor (see hello-gate.ts): its first record is the hello
// if it is a text record, and a refusal is a text record followed by the end of the connection.
import type { Socket } from 'node:net';
import type { HelloDoor } from '../handshake/hello-gate.js';
import { endPolitely } from '../mesh/end-politely.js';
import type { RecordReader } from './record-reader.js';
import { encodeTextRecord } from './text-record.js';

export function tcpDoor(socket: Socket, reader: RecordReader): HelloDoor {
  return {
    onFirstMessage: (listener) => {
      // Whoever the listener hands the connection to replaces this sink before returning.
      reader.sink = {
        text: (text) => listener(text),
        frameHead: () => {
          listener(undefined);
          return undefined;
        },
        framePayload: () => {},
        garbage: () => listener(undefined),
      };
    },
    onClose: (listener) => socket.once('close', listener),
    refuse: ({ code, reason }) => {
      reader.stop();
      endPolitely(socket, encodeTextRecord(JSON.stringify({ t: 'refused', code, reason })));
    },
    drop: () => {
      reader.stop();
      socket.destroy();
    },
  };
}
