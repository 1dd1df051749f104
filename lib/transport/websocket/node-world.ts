// The `webccl://` world in Node: getUniqueId starts a rendezvous server in this process and
// every rank joins a websocket mesh through it. Registered by the Node entry.
import type { WorldProvider } from '../../comm/world.js';
import { hostedMeshWorld } from '../../rendezvous/node-rendezvous-ids.js';
import { connectWebSocketMesh } from './websocket-mesh.js';

export const nodeWebSocketWorld: WorldProvider = hostedMeshWorld('websocket', connectWebSocketMesh);
