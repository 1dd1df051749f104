// The `webccl+tcp://` world (Node only): the same rendezvous as `webccl://`, but the ranks form
// a raw tcp mesh. Registered by the Node entry; a browser cannot join it (it knows no such id).
import { tcpMesh } from '../../transport/tcp/tcp-mesh.js';
import type { Transport } from '../../transport/transport.js';
import type { WorldProvider } from '../../transport/world.js';
import { formMesh, type MeshOptions } from '../form-mesh.js';
import { hostedMeshWorld } from './hosted-mesh-world.js';

/** The id is webccl+tcp://host:port/secret of a running rendezvous server. */
export type TcpMeshOptions = MeshOptions;

export function connectTcpMesh(options: TcpMeshOptions): Promise<Transport> {
  return formMesh(options, tcpMesh);
}

export const nodeTcpWorld: WorldProvider = hostedMeshWorld('tcp', connectTcpMesh);
