// Bundles the library with esbuild: the Node entry, the browser entry (which must not pull
// in any Node module), the webccl/tfjs entries, the browser demo's page script and the
// command-line tools. `.wgsl` shaders are inlined as strings.
// Types and declarations come from `tsc` (see package.json), not from here.
import { build } from 'esbuild';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const common = { bundle: true, format: 'esm', target: 'es2022', sourcemap: true, loader: { '.wgsl': 'text' }, logLevel: 'warning' };
// Node bundles keep their npm dependencies external: webgpu and bufferutil are native addons.
const nodeExternal = ['webgpu', 'ws', 'bufferutil'];

// Browser bundles: the library's browser entry, and the demo page's script (library included).
const browserBundles = {
  'dist/browser/index.js': 'lib/index.browser.ts',
  'dist/demo/demo.js': 'demo/demo.ts',
  // The demo's training worker: TF.js (core, layers, cpu and webgpu backends) and the library.
  'dist/demo/train-worker.js': 'demo/train-worker.ts',
};

// webccl/tfjs: TF.js stays external (the user's copy, an optional peer), and so does webccl
// itself: lib/tfjs imports the core only through lib/index.*.ts, which this plugin turns into
// the package's own name, so Communicator, WebcclError & co. are the objects users import.
const tfjsExternal = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs'];
const coreAsPackage = {
  name: 'webccl-core-as-package',
  setup(b) {
    b.onResolve({ filter: /\/index\.(core|node|browser)\.js$/ }, (args) => {
      const target = resolve(args.resolveDir, args.path);
      return target.startsWith(resolve('lib') + '/') && !target.includes('/lib/tfjs/') ? { path: 'webccl', external: true } : undefined;
    });
  },
};
const tfjsBundles = [
  { outfile: 'dist/tfjs/node.js', entry: 'lib/tfjs/index.node.ts', platform: 'node' },
  { outfile: 'dist/tfjs/browser.js', entry: 'lib/tfjs/index.browser.ts', platform: 'browser' },
];

const bins = {
  'webccl': 'bin/webccl.ts',
  'webccl-perf': 'bin/webccl-perf.ts',
  'webccl-run': 'bin/webccl-run.ts',
};

await Promise.all([
  build({ ...common, platform: 'node', entryPoints: ['lib/index.node.ts'], outfile: 'dist/node/index.js', external: nodeExternal }),
  ...Object.entries(browserBundles).map(([outfile, src]) => build({ ...common, platform: 'browser', entryPoints: [src], outfile })),
  ...tfjsBundles.map(({ outfile, entry, platform }) => build({
    ...common, platform, entryPoints: [entry], outfile, external: tfjsExternal, plugins: [coreAsPackage],
  })),
  ...Object.entries(bins).filter(([, src]) => existsSync(src)).map(([name, src]) => build({
    ...common, platform: 'node', entryPoints: [src], outfile: `dist/bin/${name}.js`, external: nodeExternal,
    banner: { js: '#!/usr/bin/env node' },
  })),
]);

// TypeScript < 6 has no WebGPU in its DOM lib: package.json's `types@<6` conditions point to these
// entries, which add @webgpu/types to the consumer's program. On TypeScript >= 6 the DOM lib has
// the WebGPU globals and @webgpu/types would clash with it, so the plain entries reference nothing.
mkdirSync('dist/types', { recursive: true });
for (const entry of ['index.node', 'index.browser']) {
  writeFileSync(`dist/types/${entry}.ts5.d.ts`, `/// <reference types="@webgpu/types" />\nexport * from './${entry}.js';\n`);
}
