// The `webccl://` world in Node: getUniqueId starts a rendezvous server in this process and
// every rank joins a websocket mesh through it. Registered by the Node entry.
import type { Transport } from '../../transport/transport.js';
import { websocketMesh } from '../../transport/websocket/websocket-mesh.js';
import type { WorldProvider } from '../../transport/world.js';
import { formMesh, type MeshOptions } from '../form-mesh.js';
import { hostedMeshWorld } from './hosted-mesh-world.js';

/** The id is webccl://host:port/secret of a running rendezvous server. */
export type WebSocketMeshOptions = MeshOptions;

export function connectWebSocketMesh(options: WebSocketMeshOptions): Promise<Transport> {
  return formMesh(options, websocketMesh);
}

export const nodeWebSocketWorld: WorldProvider = hostedMeshWorld('websocket', connectWebSocketMesh);
