// `npm run demo [-- --size N --port P]`: the browser demo's server. One process runs the
// rendezvous server (store + relay) and serves the page, its bundle and the rendezvous id; every
// tab that opens the printed URL joins as the next rank. Loopback only: the page hands the
// rendezvous secret to whoever can load it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { fileRoute, HTML, JS, JSON_TYPE, serveRoutes, textRoute } from './static-server.js';

const HOST = '127.0.0.1';
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const { values } = parseArgs({ options: { size: { type: 'string', default: '2' }, port: { type: 'string', default: '0' } } });
const size = Number(values.size);
const port = Number(values.port);
if (!Number.isInteger(size) || size < 1) throw new Error(`--size ${values.size} is not a positive integer`);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port} is not a port number`);
const bundle = here('../dist/demo/demo.js');
if (!existsSync(bundle)) throw new Error(`${bundle} is missing: build first (node build.mjs; npm run demo does)`);

const rendezvous = await RendezvousServer.start({ host: HOST });
const site = await serveRoutes({
  '/': fileRoute(here('index.html'), HTML),
  '/demo.js': fileRoute(bundle, JS),
  '/demo.js.map': fileRoute(`${bundle}.map`, JSON_TYPE),
  '/world.json': textRoute(JSON.stringify({ id: rendezvous.id }), JSON_TYPE),
}, HOST, port);

console.log(`webccl demo: open ${site.origin}/?size=${size} in ${size} tabs (each tab becomes the next rank; Ctrl-C stops)`);
const stop = () => void Promise.all([site.close(), rendezvous.close()]).then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
