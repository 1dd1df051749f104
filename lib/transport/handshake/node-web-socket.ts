// The `ws` package's WebSocket as a WebSocketConstructor for the platform-neutral clients
// (Node 20 has no global WebSocket), with webccl's settings: no compression, bounded messages,
// a close cut short when the server does not finish it (ws-options.ts). wss:// servers are
// checked against Node's CA list plus the PEM file WEBCCL_TLS_CA names (a private CA, or a
// self-signed rendezvous certificate); NODE_EXTRA_CA_CERTS works too.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { WebSocket } from './ws-package.js';
import { invalidArgument } from '../../errors.js';
import { readEnv } from '../../settings.js';
import { maxFrameBytes, withLimits, type WireLimits } from '../framed/limits.js';
import type { WebSocketConstructor } from './web-socket-like.js';
import { WS_SOCKET_OPTIONS } from './ws-options.js';

/** The CAs to trust when WEBCCL_TLS_CA adds one; undefined: Node's own. */
function trustedCas(): string[] | undefined {
  const path = readEnv('WEBCCL_TLS_CA');
  if (!path) return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw invalidArgument(`WEBCCL_TLS_CA=${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return [...rootCertificates, pem];
}

export function nodeWebSocket(limits?: Partial<WireLimits>): WebSocketConstructor {
  const maxPayload = maxFrameBytes(withLimits(limits));
  return class extends WebSocket {
    constructor(url: string) {
      const ca = url.startsWith('wss:') ? trustedCas() : undefined;
      super(url, { ...WS_SOCKET_OPTIONS, maxPayload, ...(ca ? { ca } : {}) });
    }
  } as unknown as WebSocketConstructor;
}
