/// <reference types="node" preserve="true" />
// The Node.js entry: the core API plus what only Node can do (Dawn's WebGPU through the
// `webgpu` package, listening sockets, spawning ranks). The reference above keeps Node's types
// in a consumer's program that reads this entry's declarations (they name node:net, node:http).
// The WebGPU globals (GPUDevice, GPUBuffer) come from the consumer's DOM lib on TypeScript >= 6,
// or from @webgpu/types (package.json's `types@<6` entries add it on older TypeScript).
export * from './index.core.js';
export { createNodeDevice, nodeGpu, type NodeDeviceOptions } from './gpu/node-device.js';
// Rendezvous server and websocket mesh (Node only); getUniqueId/init use them for webccl:// ids.
export { RendezvousServer, type RendezvousServerOptions } from './rendezvous/rendezvous-server.js';
export { nodeWebSocket } from './transport/handshake/node-web-socket.js';
export { connectWebSocketMesh, type WebSocketMeshOptions } from './rendezvous/worlds/websocket-world.js';
// Raw tcp mesh (Node to Node only): getUniqueId({ transport: 'tcp' }) / WEBCCL_TRANSPORT=tcp make webccl+tcp:// ids.
export { connectTcpMesh, type TcpMeshOptions } from './rendezvous/worlds/tcp-world.js';
// Shared memory between Node processes on one host (the native addon's shm provider):
// getUniqueId({ transport: 'shm' }) / WEBCCL_TRANSPORT=shm; without the addon, a clear error.
export { connectShmMesh, type ShmMeshOptions } from './rendezvous/worlds/shm-world.js';
// Native TCP (the addon's tcp provider: epoll I/O thread, no Node streams): transport 'ntcp'.
export { connectNtcpMesh, type NtcpMeshOptions } from './rendezvous/worlds/ntcp-world.js';
import { registerWorldProvider as registerNodeWorld } from './transport/world.js';
import { nodeWebSocketWorld } from './rendezvous/worlds/websocket-world.js';
import { nodeTcpWorld } from './rendezvous/worlds/tcp-world.js';
import { nodeShmWorld } from './rendezvous/worlds/shm-world.js';
import { nodeNtcpWorld } from './rendezvous/worlds/ntcp-world.js';
import { loadNative } from './native/load.js';
import { useCpuReducer } from './cpu/cpu-reducer.js';
import { nativeCpuReducer } from './cpu/native-reducer.js';
import { nodeRelayWorld } from './rendezvous/worlds/relay-world.js';
registerNodeWorld(nodeWebSocketWorld);
registerNodeWorld(nodeTcpWorld);
// webccl+relay:// ids (webccl serve's): Node ranks join browser tabs through the server's relay.
registerNodeWorld(nodeRelayWorld);
const native = loadNative();
registerNodeWorld(nodeShmWorld(native));
registerNodeWorld(nodeNtcpWorld(native));
// Host-memory reductions run the addon's SIMD loops (bit-identical to lib/cpu) when it loaded.
if ('addon' in native) useCpuReducer(nativeCpuReducer(native.addon));
// The switch (SwitchML): `webccl switch`, `webccl serve --switch` or SwitchServer runs one
// (Node only); the communicator's switch algorithm joins it by UDP, or through its WebSocket
// door (switchVia: 'websocket'), with the aggregator provider registered here.
export { SwitchServer, formatCounters as formatSwitchCounters, type SwitchServerOptions, type SwitchCounters } from './switch/switch-server.js';
import { registerAggregatorProvider } from './memory/aggregator.js';
import { switchAggregatorProvider } from './switch/switch-aggregator.js';
import { nodeWebSocket as webSocketForSwitch } from './transport/handshake/node-web-socket.js';
import './switch/udp-link.js'; // registers the worker's UDP link
import './switch/native-stream-codec.js'; // the addon's SwitchML codec for workers and host memory (when it loads)
import './switch/path-mtu.js'; // registers the probe of the path MTU that 'auto' switch packet sizes read
registerAggregatorProvider(switchAggregatorProvider({ udp: true, webSocket: webSocketForSwitch() }));
// The switch's host-local hierarchy and calibration (AgreedConfig.oneHost) group ranks by host:
// in Node, the machine's name and, where Linux gives one, its boot id, so that two machines left
// with one default name (localhost, ubuntu) are not taken for one host. Containers and network
// namespaces of one kernel share the boot id; they are one host unless their names differ.
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { registerHostIdSource } from './comm/host-groups.js';
registerHostIdSource(() => {
  let boot = '';
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch { /* not Linux, or no /proc: the name alone */ }
  return boot === '' ? hostname() : `${hostname()}@${boot}`;
});
// Tuning files (WEBCCL_TUNING_FILE, init's tuningFile; lib/tune/tuning-file.ts) are read with node:fs.
import { registerTuningFileReader } from './tune/tuning-file.js';
registerTuningFileReader((path) => readFileSync(path, 'utf8'));
