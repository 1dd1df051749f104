// The HTTP server under a `ws` WebSocketServer (Node only): it exists only to be upgraded, so a
// connection gets a few seconds to send its upgrade request and is dropped otherwise. Node's
// defaults would hold an idle or trickling connection for about a minute (headersTimeout 60 s,
// checked every 30 s). After the upgrade ws owns the socket and clears these timeouts.
import { createServer, type Server } from 'node:http';

export const UPGRADE_TIMEOUT_MS = 3000;
/** How often Node checks the header and request deadlines of open connections. */
const CHECK_INTERVAL_MS = 250;

/** Listens on host:port (0: a free one); `cannotListen` makes the error when that fails. */
export async function listenForUpgrades(host: string, port: number, cannotListen: (error: Error) => Error): Promise<Server> {
  const http = createServer({
    headersTimeout: UPGRADE_TIMEOUT_MS, requestTimeout: UPGRADE_TIMEOUT_MS, connectionsCheckingInterval: CHECK_INTERVAL_MS,
  }, (_, response) => response.writeHead(426, { connection: 'close' }).end('webccl: WebSocket only\n'));
  // A connection that never completes a request (idle, or headers never finished) is dropped.
  http.setTimeout(UPGRADE_TIMEOUT_MS);
  http.keepAliveTimeout = UPGRADE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    http.once('error', (error) => reject(cannotListen(error)));
    http.listen(port, host, resolve);
  });
  return http;
}
