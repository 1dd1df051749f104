// The package as users get it: the bundles that `exports` and `bin` point to exist after the
// build (npm test builds first) and expose the same API from the Node and browser entries.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';

type Conditions = Record<string, string>;
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: { '.': Record<string, Conditions> }; bin: Record<string, string>;
};

test('exports: browser and node conditions, each with its types first and a bundle that exists', () => {
  const conditions = Object.keys(pkg.exports['.']);
  assert.ok(conditions.includes('browser') && conditions.includes('node'));
  for (const condition of ['browser', 'node']) {
    const target = pkg.exports['.'][condition]!;
    assert.ok(Object.keys(target)[0]!.startsWith('types'), `${condition}: types must come first`);
    assert.ok(existsSync(target['default']!), `${condition} bundle missing`);
  }
});

test('bin entries exist and start with a node shebang', () => {
  for (const [name, path] of Object.entries(pkg.bin)) {
    assert.ok(existsSync(path), `${name}: ${path} missing`);
    assert.match(readFileSync(path, 'utf8').split('\n')[0]!, /^#!\/usr\/bin\/env node/);
  }
});

test('the package imports itself by name, and both entries export the same core API', async () => {
  // Through a variable: the type checker runs before any build, when dist/types does not exist yet.
  const self = 'webccl';
  const node = await import(self) as Record<string, unknown>;
  const browserSource = readFileSync(pkg.exports['.']['browser']!['default']!, 'utf8');
  for (const name of ['Communicator', 'getUniqueId', 'WebcclError', 'reduceAccumulate', 'encodeReduceAccumulate', 'premulSum', 'SwitchWorker']) {
    assert.type(node[name], 'function', `node entry lacks ${name}`);
    assert.match(browserSource, new RegExp(`\\b${name}\\b`), `browser bundle lacks ${name}`);
  }
});

test.run();
