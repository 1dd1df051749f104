// The `webccl+ntcp://` world (Node only): ranks anywhere, joined through the same rendezvous as
// the other Node worlds, whose frames travel through the native addon's tcp provider
// (native/src/tcp.cc: sockets driven by a native epoll thread, writev/readv straight from and
// into registered memory) instead of Node's sockets. It is the shm world's mesh with the other
// provider: endpoints listen on this rank's socket host (WEBCCL_SOCKET_HOST / _IFNAME, or the
// `host` option; IPv4), publish "ip:port token" blobs in the store, and each pair forms one
// connection whose hello carries a digest of the id's secret. Without the addon, a stub that
// says "ntcp transport unavailable: <reason>".
import type { NativeLoad } from '../../native/load.js';
import { meshChunkBytes, NTCP_DESCRIPTION, NTCP_LOCAL_MESH_THRESHOLD_BYTES } from '../../transport/shm/shm-mesh.js';
import type { Transport } from '../../transport/transport.js';
import type { WorldProvider } from '../../transport/world.js';
import type { MeshOptions } from '../form-mesh.js';
import { socketHosts } from '../socket-host.js';
import { connectNativeMesh, nativeWorld } from './shm-world.js';

export type NtcpMeshOptions = MeshOptions;

/** Joins the ntcp world `options.id` names through the addon `load` found; SystemError if there is none. */
export function connectNtcpMesh(options: NtcpMeshOptions, load: NativeLoad): Promise<Transport> {
  const host = options.host ?? socketHosts().advertise;
  return connectNativeMesh(options, load, { transport: 'ntcp', description: NTCP_DESCRIPTION, provider: { kind: 'tcp', host } });
}

export function nodeNtcpWorld(load: NativeLoad): WorldProvider {
  return nativeWorld('ntcp', load, connectNtcpMesh, { chunkBytes: (size) => meshChunkBytes('tcp', size), localMeshThresholdBytes: () => NTCP_LOCAL_MESH_THRESHOLD_BYTES });
}
