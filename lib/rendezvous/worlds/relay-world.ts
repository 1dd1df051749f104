// The `webccl+relay://` world in Node: every rank, Node process or browser tab alike, keeps one
// WebSocket to the rendezvous server, which relays frames between them. The id `webccl serve`
// prints is of this kind, so that Node ranks given it meet the tabs given the same id (a
// `webccl://` id makes Node ranks build a mesh among themselves, which a tab cannot join).
// Registered by the Node entry; the browser entry serves the same scheme with its own WebSocket.
// A Node rank speaks to a ws:// server on the raw socket (relay-stream-client.ts).
import type { WorldProvider } from '../../transport/world.js';
import { nodeWebSocket } from '../../transport/handshake/node-web-socket.js';
import { connectRelay } from '../relay-client.js';
import { dialRelayStream } from '../relay-stream-client.js';
import { hostedMeshWorld } from './hosted-mesh-world.js';

export const nodeRelayWorld: WorldProvider = hostedMeshWorld('relay', ({ id, rank, size, timeoutMs, onClose, limits }) => connectRelay({
  id, rank, size, WebSocket: nodeWebSocket(limits), dial: dialRelayStream,
  ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(onClose ? { onClose } : {}), ...(limits ? { limits } : {}),
}));
