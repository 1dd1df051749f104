// An accepted stream mesh connection (tcp or websocket) as a HelloDoor (see hello-gate.ts): its
// first text is the hello, anything else before it is not, and a refusal is the protocol's last
// words (a text record, a close frame) followed by the end of the connection.
import type { Socket } from 'node:net';
import type { HelloDoor, Refusal } from '../handshake/hello-gate.js';
import { endPolitely } from './end-politely.js';
import type { RecordSink } from './record-sink.js';

/** What differs between the protocols at the door. */
export interface DoorProtocol<Sink extends RecordSink> {
  /** The reader's whole sink, from the part every protocol has. */
  sink(common: RecordSink): Sink;
  /** The bytes that say the refusal (undefined: none can be said yet, the connection just ends). */
  refusal(refusal: Refusal): Uint8Array | undefined;
}

export function meshDoor<Sink extends RecordSink>(socket: Socket, reader: { sink: Sink | undefined; stop(): void }, protocol: DoorProtocol<Sink>): HelloDoor {
  return {
    onFirstMessage: (listener) => {
      // Whoever the listener hands the connection to replaces this sink before returning.
      reader.sink = protocol.sink({
        text: (text) => listener(text),
        frameHead: () => {
          listener(undefined);
          return undefined;
        },
        framePayload: () => {},
        garbage: () => listener(undefined),
      });
    },
    onClose: (listener) => socket.once('close', listener),
    refuse: (refusal) => {
      reader.stop();
      const bytes = protocol.refusal(refusal);
      if (bytes) endPolitely(socket, bytes);
      else socket.destroy();
    },
    drop: () => {
      reader.stop();
      socket.destroy();
    },
  };
}
