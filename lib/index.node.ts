// The Node.js entry: the core API plus what only Node can do (Dawn's WebGPU through the
// `webgpu` package, listening sockets, spawning ranks).
export * from './index.core.js';
export { createNodeDevice } from './gpu/node-device.js';
// Rendezvous server and websocket mesh (Node only); getUniqueId/init use them for webccl:// ids.
export { RendezvousServer, type RendezvousServerOptions } from './rendezvous/rendezvous-server.js';
export { nodeWebSocket } from './rendezvous/node-web-socket.js';
export { connectWebSocketMesh, type WebSocketMeshOptions } from './transport/websocket/websocket-mesh.js';
// Raw tcp mesh (Node to Node only): getUniqueId({ transport: 'tcp' }) / WEBCCL_TRANSPORT=tcp make webccl+tcp:// ids.
export { connectTcpMesh, type TcpMeshOptions } from './transport/tcp/tcp-mesh.js';
import { registerWorldProvider as registerNodeWorld } from './comm/world.js';
import { nodeWebSocketWorld } from './transport/websocket/node-world.js';
import { nodeTcpWorld } from './transport/tcp/tcp-world.js';
registerNodeWorld(nodeWebSocketWorld);
registerNodeWorld(nodeTcpWorld);
