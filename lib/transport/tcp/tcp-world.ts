// The `webccl+tcp://` world (Node only): the same rendezvous as `webccl://`, but the ranks form
// a raw tcp mesh. Registered by the Node entry; a browser cannot join it (it knows no such id).
import type { WorldProvider } from '../../comm/world.js';
import { hostedRendezvousId, rendezvousIdForAddress } from '../../rendezvous/node-rendezvous-ids.js';
import { ID_SCHEMES } from '../../rendezvous/unique-id.js';
import { connectTcpMesh } from './tcp-mesh.js';

export const nodeTcpWorld: WorldProvider = {
  scheme: ID_SCHEMES.tcp,
  transport: 'tcp',
  createId: (options) => hostedRendezvousId(options, 'tcp'),
  idFromAddress: (host, port, rank, size) => rendezvousIdForAddress(host, port, rank, size, 'tcp'),
  connect(id, rank, size, { timeoutMs }) {
    return connectTcpMesh({ id, rank, size, timeoutMs });
  },
};
