// The layer order of lib/ (docs/ARCHITECTURE.md): every import points to the same layer or a
// lower one, never up. Read from the source text, so it needs no build and fails with the
// offending file, its import and both layers named.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const lib = fileURLToPath(new URL('../lib/', import.meta.url));

/** Lowest first. A file's layer is that of its first folder under lib/ (or its own name). */
const LAYERS: readonly (readonly string[])[] = [
  ['dtype', 'errors', 'log', 'pending-list', 'settings'],
  ['memory', 'cpu', 'native'],
  ['gpu', 'transport'],
  ['rendezvous', 'collectives', 'switch'],
  ['tune'],
  ['comm'],
  ['index.core', 'index.node', 'index.browser'],
  // webccl/tfjs: above the entries (it imports the core only through them), imported by none.
  ['tfjs'],
];

function layerOf(path: string): number {
  const head = relative(lib, path).split(/[\\/]/)[0]!.replace(/\.(ts|js)$/, '');
  const layer = LAYERS.findIndex((names) => names.includes(head));
  if (layer < 0) throw new Error(`lib/${relative(lib, path)}: '${head}' is in no layer; add it to LAYERS`);
  return layer;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;

test('lib/ imports only downward', () => {
  const upward: string[] = [];
  for (const file of sources(lib)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const target = resolve(dirname(file), (match[1] ?? match[2])!);
      if (!target.startsWith(lib)) continue; // shaders, outside the layer order
      const [from, to] = [layerOf(file), layerOf(target)];
      if (to > from) upward.push(`lib/${relative(lib, file)} imports lib/${relative(lib, target)} (layer ${from} -> ${to})`);
    }
  }
  assert.equal(upward, [], upward.join('\n'));
});

test('the check sees an upward import', () => {
  // Guards the regex: a file in cpu importing comm must be caught.
  const fake = `import { x } from '../comm/communicator.js';`;
  const match = [...fake.matchAll(IMPORT)][0];
  assert.equal(match?.[1], '../comm/communicator.js');
  assert.ok(layerOf(join(lib, 'comm/communicator.ts')) > layerOf(join(lib, 'cpu/reduce.ts')));
});

test.run();
