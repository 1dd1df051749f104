// A full mesh of raw tcp connections between the ranks of a world (Node only), for Node-to-Node
// jobs where every byte counts: the same frames, hello and rendezvous as the websocket mesh,
// without WebSocket framing on top, and with payloads received straight into their messages
// (record-reader.ts) and sent straight from the caller's memory (tcp-channel.ts).
import type { Socket } from 'node:net';
import type { MeshKind } from '../mesh/mesh-kind.js';
import { MeshListener } from '../mesh/mesh-listener.js';
import type { RecordReader } from './record-reader.js';
import { TcpChannel } from './tcp-channel.js';
import { dialTcp } from './tcp-dialer.js';
import { TCP_ACCEPT } from './tcp-listener.js';


export const TCP_DESCRIPTION = 'tcp';

export const tcpMesh: MeshKind = {
  name: 'tcp mesh',
  addressKind: 'tcp',
  description: TCP_DESCRIPTION,
  sockets: ({ identity, host, timeoutMs, helloTimeoutMs, log, transport }) => {
    const adopt = (peer: number, socket: Socket, reader: RecordReader) => transport.attach(peer, new TcpChannel(socket, reader, peer, transport));
    return {
      listen: (attached) => MeshListener.listen(host, identity, helloTimeoutMs, log, TCP_ACCEPT, (peer, socket, reader) => {
        adopt(peer, socket, reader);
        attached(peer);
      }),
      dial: (peer, address, hello) => dialTcp({
        address, hello, timeoutMs, who: `rank ${identity.rank} dialling rank ${peer}`,
        adopt: (socket, reader) => adopt(peer, socket, reader),
      }),
    };
  },
};

