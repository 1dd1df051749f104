// The browser entry must bundle without any Node module: DESIGN.md's platform rule.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { build } from 'esbuild';

test('browser entry bundles for the browser without Node modules', async () => {
  const result = await build({
    entryPoints: ['lib/index.browser.ts'], bundle: true, write: false, format: 'esm', platform: 'browser',
    loader: { '.wgsl': 'text' }, logLevel: 'silent', metafile: true,
  });
  const inputs = Object.keys(result.metafile.inputs);
  const nodeOnly = inputs.filter((path) => /node_modules\/(ws|webgpu|bufferutil)\/|node-device|\/node\//.test(path));
  assert.equal(nodeOnly, [], `browser bundle pulls in Node-only files: ${nodeOnly.join(', ')}`);
  const code = result.outputFiles[0]!.text;
  assert.not.match(code, /from\s*["']node:|require\(["']node:/);
});

test.run();
