// A tcp mesh connection to one peer, after its handshake (mesh/stream-channel.ts: sending,
// closing and losing it). A frame goes out as webccl's header and payload alone; a goodbye is a
// text record. Receiving: the connection's RecordReader feeds frames to the transport (payloads
// straight into their messages) and notes the peer's goodbye, which tells a close from a loss.
import type { Socket } from 'node:net';
import type { FramedTransport } from '../framed/framed-transport.js';
import { StreamChannel } from '../mesh/stream-channel.js';
import type { RecordReader } from './record-reader.js';
import { encodeTextRecord, parseClosing } from './text-record.js';

export class TcpChannel extends StreamChannel {
  constructor(socket: Socket, reader: RecordReader, peer: number, transport: FramedTransport) {
    super(socket, peer, transport);
    reader.sink = {
      text: (text) => {
        const goodbye = parseClosing(text, 'bye');
        if (goodbye) this.heardGoodbye(goodbye.code, goodbye.reason);
        else transport.untrusted(peer, new Error('a text record after the handshake that is not a goodbye'));
      },
      frameHead: (head) => transport.receiveFrameHead(head, peer),
      framePayload: () => transport.receivePayload(peer),
      garbage: (detail) => transport.untrusted(peer, new Error(detail)),
    };
  }

  protected framePrefix(): undefined {
    return undefined;
  }

  protected goodbyeBytes(code: number, reason: string): Uint8Array {
    return encodeTextRecord(JSON.stringify({ t: 'bye', code, reason }));
  }
}
