// The dialling side of a tcp mesh connection (mesh/mesh-dialer.ts): the hello goes out as a text
// record on connecting, and the answer is a text record too, the welcome or a refusal.
import { WELCOME } from '../handshake/handshake.js';
import { dialMesh, type MeshDialOptions } from '../mesh/mesh-dialer.js';
import { RecordReader } from './record-reader.js';
import { encodeTextRecord, parseClosing } from './text-record.js';

export function dialTcp(options: MeshDialOptions<RecordReader>): Promise<void> {
  return dialMesh(options, {
    reader: (_, outcome) => {
      const reader = new RecordReader();
      reader.sink = {
        text: (text) => {
          if (text === WELCOME) return outcome.welcomed();
          const refused = parseClosing(text, 'refused');
          if (refused) outcome.refused(refused.code, refused.reason);
          else outcome.notWelcomed();
        },
        frameHead: () => {
          outcome.notWelcomed();
          return undefined;
        },
        framePayload: () => {},
        garbage: () => outcome.notWelcomed(),
      };
      return reader;
    },
    opened: (socket) => socket.write(encodeTextRecord(JSON.stringify(options.hello))),
  });
}
