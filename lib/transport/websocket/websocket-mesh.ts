// A full mesh of WebSocket connections between the ranks of a world (Node). The mesh forms as
// every mesh does (lib/rendezvous/form-mesh.ts); this file supplies the WebSocket side of it: a listener
// that upgrades and admits, a dialler, and a channel per peer, each speaking RFC 6455 on the raw
// socket (rfc6455.ts: why not through `ws`) and reading payloads straight into their messages.
import type { Socket } from 'node:net';
import { maxFrameBytes } from '../framed/limits.js';
import type { MeshKind } from '../mesh/mesh-kind.js';
import { MeshListener } from '../mesh/mesh-listener.js';
import { WebSocketChannel } from './web-socket-channel.js';
import { dialWebSocket } from './web-socket-dialer.js';
import { webSocketAccept } from './web-socket-listener.js';
import type { WebSocketReader } from './ws-reader.js';

export const websocketMesh: MeshKind = {
  name: 'websocket mesh',
  addressKind: 'websocket',
  description: 'websocket',
  sockets: ({ identity, host, timeoutMs, helloTimeoutMs, limits, log, transport }) => {
    const adopt = (peer: number, socket: Socket, reader: WebSocketReader, dialled: boolean) => transport.attach(peer, new WebSocketChannel(socket, reader, peer, transport, dialled));
    const maxFramePayload = maxFrameBytes(limits);
    return {
      listen: (attached) => MeshListener.listen(host, identity, helloTimeoutMs, log, webSocketAccept(maxFramePayload, log), (peer, socket, reader) => {
        adopt(peer, socket, reader, false);
        attached(peer);
      }),
      dial: (peer, address, hello) => dialWebSocket({
        address, hello, timeoutMs, maxFramePayload, who: `rank ${identity.rank} dialling rank ${peer}`,
        adopt: (socket, reader) => adopt(peer, socket, reader, true),
      }),
    };
  },
};
