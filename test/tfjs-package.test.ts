// webccl/tfjs as users get it: an `exports` entry with types first and node/browser bundles that
// exist; the bundles import webccl's core by the package's name (so Communicator and WebcclError
// are the objects users import, not copies) and TF.js from the user's install; lib/tfjs reaches
// the core only through lib/index.*.ts (what the bundler rewrites); no main entry pulls TF.js in.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, Record<string, Record<string, string>>>; peerDependenciesMeta: Record<string, { optional: boolean }>;
};

test('exports ./tfjs: types first, node and browser bundles that exist; TF.js peers are optional', () => {
  const entry = pkg.exports['./tfjs']!;
  for (const condition of ['browser', 'node', 'default']) {
    const target = entry[condition]!;
    assert.is(Object.keys(target)[0], 'types', `${condition}: types first`);
    assert.ok(existsSync(target['default']!), `${condition} bundle missing`);
    assert.match(target['types']!, /^\.\/dist\/types\/tfjs\/index\.(node|browser)\.d\.ts$/, `${condition} types`);
  }
  for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu']) assert.ok(pkg.peerDependenciesMeta[name]?.optional, name);
});

test('the bundles take the core from webccl and TF.js from outside; no copy of the core inside', () => {
  for (const file of ['dist/tfjs/node.js', 'dist/tfjs/browser.js']) {
    const text = readFileSync(file, 'utf8');
    assert.match(text, /from "webccl"/, file);
    assert.match(text, /from "@tensorflow\/tfjs-core"/, file);
    assert.not.match(text, /class (WebcclError|Communicator)\b/, file);
  }
  assert.not.match(readFileSync('dist/tfjs/browser.js', 'utf8'), /node-device|from "webgpu"|from "node:/);
});

test('lib/tfjs imports lib/ only through the entries; the main bundles contain no TF.js', () => {
  for (const name of readdirSync('lib/tfjs')) {
    const text = readFileSync(`lib/tfjs/${name}`, 'utf8');
    for (const [, path] of text.matchAll(/from '(\.\.\/[^']+)'/g)) assert.match(path!, /^\.\.\/index\.(core|node|browser)\.js$/, `lib/tfjs/${name} imports ${path}`);
  }
  for (const file of ['dist/node/index.js', 'dist/browser/index.js']) assert.not.match(readFileSync(file, 'utf8'), /@tensorflow/, file);
});

test('import("webccl/tfjs") in Node gives the API, and its errors are webccl\'s WebcclError', async () => {
  // Through variables: the type checker runs before any build.
  const [self, sub] = ['webccl', 'webccl/tfjs'];
  const core = await import(self) as { WebcclError: new (...args: never[]) => Error; Communicator: unknown };
  const tfjs = await import(sub) as Record<string, unknown> & { planBuckets: unknown; broadcastVariables: (c: unknown, v: unknown, root: number) => Promise<void> };
  for (const name of ['allReduceGradients', 'broadcastVariables', 'DistributedOptimizer', 'setupTfjsWebgpu', 'useWebgpuBackend', 'planBuckets']) {
    assert.type(tfjs[name], 'function', name);
  }
  const error = await tfjs.broadcastVariables({ size: 2, rank: 0 }, [], 5).catch((e: unknown) => e);
  assert.instance(error, core.WebcclError);
});

test.run();
