// The accepting side of the tcp mesh (mesh/mesh-listener.ts): records from the first byte, a
// text record for the welcome and for a refusal.
import { WELCOME } from '../handshake/handshake.js';
import { meshDoor } from '../mesh/mesh-door.js';
import type { AcceptProtocol } from '../mesh/mesh-listener.js';
import { RecordReader } from './record-reader.js';
import { encodeTextRecord } from './text-record.js';

export const TCP_ACCEPT: AcceptProtocol<RecordReader> = {
  name: 'tcp mesh',
  reader: () => new RecordReader(),
  door: (socket, reader) => meshDoor(socket, reader, {
    sink: (common) => common,
    refusal: ({ code, reason }) => encodeTextRecord(JSON.stringify({ t: 'refused', code, reason })),
  }),
  welcome: (socket) => socket.write(encodeTextRecord(WELCOME)),
};
