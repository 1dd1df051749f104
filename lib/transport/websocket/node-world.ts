// The `webccl://` world in Node: getUniqueId starts a rendezvous server in this process and
// every rank joins a websocket mesh through it. Registered by the Node entry.
import type { WorldProvider } from '../../comm/world.js';
import { hostedRendezvousId, rendezvousIdForAddress } from '../../rendezvous/node-rendezvous-ids.js';
import { ID_SCHEMES } from '../../rendezvous/unique-id.js';
import { connectWebSocketMesh } from './websocket-mesh.js';

export const nodeWebSocketWorld: WorldProvider = {
  scheme: ID_SCHEMES.websocket,
  transport: 'websocket',
  createId: (options) => hostedRendezvousId(options, 'websocket'),
  idFromAddress: (host, port, rank, size) => rendezvousIdForAddress(host, port, rank, size, 'websocket'),
  connect(id, rank, size, { timeoutMs }) {
    return connectWebSocketMesh({ id, rank, size, timeoutMs });
  },
};
