// A websocket mesh connection to one peer, after its handshake (mesh/stream-channel.ts: sending,
// closing and losing it). Each webccl frame is one binary message: its WebSocket header goes
// ahead of webccl's header and payload in the same writev; a goodbye is a close frame.
// Receiving: the connection's WebSocketReader feeds frames to the transport (payloads straight
// into their messages), answers pings, and notes the peer's close frame, which tells a close
// from a loss, and answers it in kind (section 5.5.1).
import type { Socket } from 'node:net';
import type { FramedTransport } from '../framed/framed-transport.js';
import { readFrameRoute } from '../frame.js';
import { writeIfOpen } from '../mesh/end-politely.js';
import { StreamChannel } from '../mesh/stream-channel.js';
import { closeFrame, frameHeader, OPCODE, wholeFrame } from './rfc6455.js';
import type { WebSocketReader } from './ws-reader.js';

export class WebSocketChannel extends StreamChannel {
  /**
   * `masked`: this side dialled, and a client's frames carry a mask (rfc6455.ts, frameHeader).
   * `peer` undefined: a Node rank's relay connection (lib/rendezvous/relay-stream-client.ts),
   * whose frames come from the peer their route names (the relay wrote it) and whose text
   * messages are the relay's notices, for `notice`.
   */
  constructor(socket: Socket, reader: WebSocketReader, peer: number | undefined, transport: FramedTransport, private readonly masked: boolean, notice?: (text: string) => void) {
    super(socket, peer, transport);
    // The frame whose payload is being read came from this rank.
    let from = peer ?? -1;
    reader.sink = {
      text: (text) => (notice ? notice(text) : transport.untrusted(peer, new Error('a text message after the handshake'))),
      frameHead: (head) => {
        if (peer === undefined) {
          from = readFrameRoute(head);
          if (from >= transport.size || from === transport.rank) {
            transport.untrusted(undefined, new Error(`a frame from rank ${from}, not a peer of rank ${transport.rank} of ${transport.size}`));
            return undefined;
          }
        }
        return transport.receiveFrameHead(head, from);
      },
      framePayload: () => transport.receivePayload(from),
      garbage: (detail) => transport.untrusted(peer, new Error(detail)),
      ping: (payload) => {
        writeIfOpen(socket, wholeFrame(OPCODE.pong, payload, masked));
      },
      closing: (code, reason) => {
        this.heardGoodbye(code, reason);
        this.endWith(code, '');
      },
    };
  }

  protected framePrefix(frameBytes: number): Uint8Array {
    return frameHeader(OPCODE.binary, frameBytes, this.masked);
  }

  protected goodbyeBytes(code: number | undefined, reason: string): Uint8Array {
    return closeFrame(code, reason, this.masked);
  }
}
