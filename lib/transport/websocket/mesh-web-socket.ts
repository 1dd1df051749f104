// The `ws` client class the mesh dials with. Unlike the rendezvous clients it does not mask its
// frames: masking (RFC 6455 section 5.3) protects shared HTTP proxies and caches from payloads
// crafted by untrusted page scripts. Mesh connections run between webccl processes, point to
// point with no intermediary, and are admitted only with the world's shared secret, so the XOR
// would protect nothing while costing a copy and a pass over every byte sent by the dialler.
// ws accepts a generated all-zero key as "no masking" on both ends: the sender skips the XOR
// and the copy it implies, and the receiver skips unmasking a zero key.
import { WebSocket, type ClientOptions } from '../handshake/ws-package.js';
import type { WebSocketConstructor } from '../handshake/web-socket-like.js';
import { WS_SOCKET_OPTIONS } from '../handshake/ws-options.js';
import { maxFrameBytes, type WireLimits } from '../framed/limits.js';

const zeroMask = (mask: Uint8Array): void => {
  mask.fill(0);
};

export function meshWebSocket(limits: WireLimits): WebSocketConstructor {
  const options: ClientOptions = { ...WS_SOCKET_OPTIONS, maxPayload: maxFrameBytes(limits), generateMask: zeroMask };
  return class extends WebSocket {
    constructor(url: string) {
      super(url, options);
    }
  } as unknown as WebSocketConstructor;
}
