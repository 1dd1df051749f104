// The Node.js entry: the core API plus what only Node can do (Dawn's WebGPU through the
// `webgpu` package, listening sockets, spawning ranks).
export * from './index.core.js';
export { createNodeDevice } from './gpu/node-device.js';
// Rendezvous server and websocket mesh (Node only); getUniqueId/init use them for webccl:// ids.
export { RendezvousServer, type RendezvousServerOptions } from './rendezvous/rendezvous-server.js';
export { nodeWebSocket } from './transport/handshake/node-web-socket.js';
export { connectWebSocketMesh, type WebSocketMeshOptions } from './rendezvous/worlds/websocket-world.js';
// Raw tcp mesh (Node to Node only): getUniqueId({ transport: 'tcp' }) / WEBCCL_TRANSPORT=tcp make webccl+tcp:// ids.
export { connectTcpMesh, type TcpMeshOptions } from './rendezvous/worlds/tcp-world.js';
import { registerWorldProvider as registerNodeWorld } from './transport/world.js';
import { nodeWebSocketWorld } from './rendezvous/worlds/websocket-world.js';
import { nodeTcpWorld } from './rendezvous/worlds/tcp-world.js';
registerNodeWorld(nodeWebSocketWorld);
registerNodeWorld(nodeTcpWorld);
// The switch (SwitchML over UDP, Node only): `webccl switch` or SwitchServer runs one; the
// communicator's switch algorithm joins it through the aggregator provider registered here.
export { SwitchServer, formatCounters as formatSwitchCounters, type SwitchServerOptions, type SwitchCounters } from './switch/switch-server.js';
import { registerAggregatorProvider } from './memory/aggregator.js';
import { switchAggregatorProvider } from './switch/switch-aggregator.js';
registerAggregatorProvider(switchAggregatorProvider);
