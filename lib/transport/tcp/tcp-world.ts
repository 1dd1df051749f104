// The `webccl+tcp://` world (Node only): the same rendezvous as `webccl://`, but the ranks form
// a raw tcp mesh. Registered by the Node entry; a browser cannot join it (it knows no such id).
import type { WorldProvider } from '../../comm/world.js';
import { hostedMeshWorld } from '../../rendezvous/node-rendezvous-ids.js';
import { connectTcpMesh } from './tcp-mesh.js';

export const nodeTcpWorld: WorldProvider = hostedMeshWorld('tcp', connectTcpMesh);
