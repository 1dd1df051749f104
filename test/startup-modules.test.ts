// What a Node process of webccl loads when it imports the Node entry, as every rank and launcher
// does: `ws` through require (lib/transport/handshake/ws-package.ts says why: an ES import of the
// CommonJS package cost ~70 ms of CPU a process), and not Dawn (`webgpu`), which only a device
// asks for. A resolve hook in a child process records what Node's ESM loader was asked for.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = mkdtempSync(join(tmpdir(), 'webccl-startup-test-'));

/** Imports `entry` in a fresh Node (TypeScript hooks on) and returns the bare specifiers the ESM loader resolved, and whether ws's files were loaded at all. */
function importRecorded(entry: string): { esm: string[]; wsLoaded: boolean } {
  const log = join(dir, 'resolved.txt');
  writeFileSync(log, '');
  const hook = join(dir, 'record-hook.mjs');
  writeFileSync(hook, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (!/^[./]|^[a-z]+:/.test(specifier)) appendFileSync(process.env.RESOLVED_LOG, specifier + '\\n');
  return next(specifier, context);
}
`);
  const main = join(dir, 'main.mjs');
  writeFileSync(main, `import { register, createRequire } from 'node:module';
register(${JSON.stringify(pathToFileURL(hook).href)});
await import(${JSON.stringify(pathToFileURL(resolve(entry)).href)});
const cache = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({ wsLoaded: cache.some((path) => /node_modules[\\\\/]ws[\\\\/]/.test(path)) }));
`);
  const run = spawnSync(process.execPath, ['--import', './test/register.mjs', main], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, RESOLVED_LOG: log },
  });
  assert.is(run.status, 0, `child failed: ${run.stderr}`);
  const { wsLoaded } = JSON.parse(run.stdout.trim().split('\n').pop()!) as { wsLoaded: boolean };
  return { esm: [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))], wsLoaded };
}

test('the Node entry loads ws through require, not the ESM loader, and does not load webgpu', () => {
  const { esm, wsLoaded } = importRecorded('lib/index.node.ts');
  assert.ok(wsLoaded, 'ws was not loaded at all: the test no longer sees what it checks');
  assert.not.ok(esm.some((s) => s === 'ws' || s.startsWith('ws/')), `ws went through the ESM loader: ${esm.join(', ')}`);
  assert.not.ok(esm.some((s) => s === 'webgpu'), `webgpu was imported without a device: ${esm.join(', ')}`);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
