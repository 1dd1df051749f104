// A full mesh of `ws` connections between the ranks of a world (Node). The mesh forms as every
// mesh does (../mesh/form-mesh.ts); this file supplies the WebSocket side of it: a ws server
// to accept on, ws clients to dial with, and frames laid onto messages as split-frames.ts says.
import type { WebSocket } from 'ws';
import { openSession } from '../handshake/open-session.js';
import type { FramedTransport } from '../framed/framed-transport.js';
import { maxFrameBytes } from '../framed/limits.js';
import type { MeshKind } from '../mesh/mesh-kind.js';
import { websocketDescription } from './bufferutil-status.js';
import { MeshListener } from './mesh-listener.js';
import { meshWebSocket } from './mesh-web-socket.js';
import { SplitFrameReader } from './split-frames.js';
import { WsChannel } from './ws-channel.js';


export const websocketMesh: MeshKind = {
  name: 'websocket mesh',
  addressKind: 'websocket',
  get description() {
    return websocketDescription();
  },
  sockets: ({ identity, host, timeoutMs, helloTimeoutMs, limits, log, transport }) => {
    const adopt = (peer: number, socket: WebSocket) => transport.attach(peer, new WsChannel(socket, peer, transport));
    return {
      listen: (attached) => MeshListener.listen(host, maxFrameBytes(limits), identity, helloTimeoutMs, log, (peer, socket) => {
        socket.on('message', receiver(transport, peer));
        socket.on('close', (code, reason) => transport.connectionLost(peer, code, reason.toString()));
        adopt(peer, socket);
        attached(peer);
      }),
      dial: async (peer, address, hello) => {
        const onFrameMessage = receiver(transport, peer);
        const socket = await openSession({
          WebSocket: meshWebSocket(limits), url: `ws://${address}/`, timeoutMs, who: `rank ${identity.rank} dialling rank ${peer}`, binaryType: 'nodebuffer',
          hello,
          onMessage: (data) => onFrameMessage(data, typeof data !== 'string'),
          onClose: (code, reason) => transport.connectionLost(peer, code, reason),
        });
        adopt(peer, socket as unknown as WebSocket);
      },
    };
  },
};


/** Feeds one connection's messages to the transport as frames (see split-frames.ts). */
function receiver(transport: FramedTransport, peer: number): (data: unknown, isBinary: boolean) => void {
  const reader = new SplitFrameReader();
  return (data, isBinary) => {
    // A text message after the hello is as much garbage as a bad frame; an empty view fails decoding.
    const frame = reader.accept(isBinary ? data as Uint8Array : new Uint8Array(0));
    if (frame) transport.receiveFrame(frame.bytes, peer, frame.payload);
  };
}
