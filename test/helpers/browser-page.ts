// The page the browser tests open: it loads the built browser bundle (what `exports` hands to
// browsers) and leaves it at window.webccl for expressions evaluated over CDP.
import { existsSync, readFileSync } from 'node:fs';
import { fileRoute, HTML, JS, serveRoutes, textRoute, type StaticServer } from '../../demo/static-server.js';

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>webccl browser test</title>
<script type="module">import * as webccl from '/webccl.js'; window.webccl = webccl;</script>
`;

export function browserBundlePath(): string {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: { '.': { browser: { default: string } } } };
  return pkg.exports['.'].browser.default;
}

export function serveTestPage(): Promise<StaticServer> {
  const bundle = browserBundlePath();
  if (!existsSync(bundle)) return Promise.reject(new Error(`${bundle} is missing: build it first (node build.mjs; npm test does)`));
  return serveRoutes({ '/': textRoute(PAGE, HTML), '/webccl.js': fileRoute(bundle, JS) });
}
