// The HTTP server under a `ws` WebSocketServer (Node only): it exists only to be upgraded, so a
// connection gets a few seconds to send its upgrade request and is dropped otherwise. Node's
// defaults would hold an idle or trickling connection for about a minute (headersTimeout 60 s,
// checked every 30 s). After the upgrade ws owns the socket and clears these timeouts.
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';

/** A certificate chain and its private key, PEM (what `webccl serve --tls-cert --tls-key` reads). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

export const UPGRADE_TIMEOUT_MS = 3000;
/** How often Node checks the header and request deadlines of open connections. */
const CHECK_INTERVAL_MS = 250;

/**
 * Listens on host:port (0: a free one); `cannotListen` makes the error when that fails. With
 * `tls` it speaks HTTPS (wss:// for WebSocket clients), and a TLS handshake gets the same few
 * seconds as an upgrade request (Node's default would wait two minutes).
 */
export async function listenForUpgrades(host: string, port: number, cannotListen: (error: Error) => Error, tls?: TlsFiles): Promise<Server> {
  const options = { headersTimeout: UPGRADE_TIMEOUT_MS, requestTimeout: UPGRADE_TIMEOUT_MS, connectionsCheckingInterval: CHECK_INTERVAL_MS };
  const refuse: Parameters<typeof createServer>[1] = (_, response) => response.writeHead(426, { connection: 'close' }).end('webccl: WebSocket only\n');
  // https.Server has http.Server's whole interface (it mixes it in); the types keep them apart.
  const http = tls === undefined ? createServer(options, refuse)
    : createTlsServer({ ...options, cert: tls.cert, key: tls.key, handshakeTimeout: UPGRADE_TIMEOUT_MS }, refuse) as unknown as Server;
  // A connection that never completes a request (idle, or headers never finished) is dropped.
  http.setTimeout(UPGRADE_TIMEOUT_MS);
  http.keepAliveTimeout = UPGRADE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    http.once('error', (error) => reject(cannotListen(error)));
    http.listen(port, host, resolve);
  });
  return http;
}
