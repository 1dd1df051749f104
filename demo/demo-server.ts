// The browser demo's server, as a function (demo/serve.ts is its command; test/demo.test.ts
// starts one in-process): the rendezvous server (store + relay), and over HTTP the page, its
// bundles, the rendezvous id and the MNIST digits. Loopback only: the page hands the rendezvous
// secret to whoever can load it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import type { SwitchServer } from '../lib/switch/switch-server.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { loadMnist } from '../examples/mnist/data.js';
import { encodeMnist } from './mnist-wire.js';
import { fileRoute, HTML, JS, JSON_TYPE, serveRoutes, textRoute, type Route } from './static-server.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export interface DemoOptions {
  readonly host?: string;
  readonly port?: number;
  /** Training and test digits served to the tabs (defaults 4000 and 500). */
  readonly train?: number;
  readonly test?: number;
  /** Host a switch for the tabs' relay worlds, so the page offers switch allreduce (default false). */
  readonly switch?: boolean;
}

export interface DemoServer {
  /** http://host:port of the page. */
  readonly origin: string;
  /** The webccl+relay:// id a Node rank can join the tabs' relay with. */
  readonly relayId: string;
  /** The switch the rendezvous server hosts (with `switch: true`). */
  readonly hostedSwitch: SwitchServer | undefined;
  close(): Promise<void>;
}

export async function startDemo(options: DemoOptions = {}): Promise<DemoServer> {
  const host = options.host ?? '127.0.0.1';
  const bundles = ['demo.js', 'train-worker.js'].map((name) => here(`../dist/demo/${name}`));
  for (const bundle of bundles) if (!existsSync(bundle)) throw new Error(`${bundle} is missing: build first (node build.mjs; npm run demo does)`);
  const mnist = Buffer.from(encodeMnist(loadMnist(options.train ?? 4000, options.test ?? 500)));
  const rendezvous = await RendezvousServer.start({ host, ...(options.switch && { switch: {} }) });
  const bundleRoutes: Record<string, Route> = {};
  for (const bundle of bundles) {
    const name = bundle.slice(bundle.lastIndexOf('/'));
    bundleRoutes[name] = fileRoute(bundle, JS);
    bundleRoutes[`${name}.map`] = fileRoute(`${bundle}.map`, JSON_TYPE);
  }
  try {
    const site = await serveRoutes({
      '/': fileRoute(here('index.html'), HTML),
      ...bundleRoutes,
      '/world.json': textRoute(JSON.stringify({ id: rendezvous.id, switch: rendezvous.hostedSwitch !== undefined }), JSON_TYPE),
      '/mnist.bin': { type: 'application/octet-stream', body: () => mnist },
    }, host, options.port ?? 0);
    return {
      origin: site.origin,
      relayId: formatUniqueId({ ...parseUniqueId(rendezvous.id), transport: 'relay' }),
      hostedSwitch: rendezvous.hostedSwitch,
      close: async () => { await Promise.all([site.close(), rendezvous.close()]); },
    };
  } catch (error) {
    await rendezvous.close();
    throw error;
  }
}
