// A tiny HTTP server for a fixed set of paths: the demo's page and bundles, and the browser
// tests' page and the built library. Listens on loopback only; the query string is ignored (pages
// read it themselves), anything else is a 404.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';

export interface Route {
  readonly type: string;
  /** Read on every request, so a rebuilt bundle is served without a restart. */
  body(): string | Buffer | Promise<string | Buffer>;
}

export const fileRoute = (path: string, type: string): Route => ({ type, body: () => readFile(path) });
export const textRoute = (text: string, type: string): Route => ({ type, body: () => text });

export const JS = 'text/javascript; charset=utf-8';
export const HTML = 'text/html; charset=utf-8';
export const JSON_TYPE = 'application/json';

export interface StaticServer {
  /** http://host:port (no trailing slash). */
  readonly origin: string;
  close(): Promise<void>;
}

export async function serveRoutes(routes: Readonly<Record<string, Route>>, host = '127.0.0.1', port = 0): Promise<StaticServer> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const route = routes[path];
    if (!route || request.method !== 'GET') return void response.writeHead(404).end('not found\n');
    Promise.resolve(route.body()).then(
      (body) => response.writeHead(200, { 'content-type': route.type, 'cache-control': 'no-store' }).end(body),
      (error: Error) => response.writeHead(500).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
