// The packed tarball as a consumer gets it: what publint / arethetypeswrong check (paths that
// package.json names ship, `types` first in every conditions object, .d.ts imports resolve),
// then a tiny Node project and a tiny browser project type-checked against it with
// skipLibCheck: false (GPUDevice/GPUBuffer come from TypeScript's DOM lib, part of the default
// lib in Node projects too; the browser project sees createBrowserDevice), and the Node entry loaded with import and with
// require() (what `engines` promises), also without the optional dependencies (Dawn).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkManifest, type Manifest } from './helpers/manifest-check.js';
import { makeConsumer, packPackage, readJson, typeCheck } from './helpers/packed.js';

const packed = packPackage();
const unpacked = (dir: string) => join(dir, 'node_modules', 'webccl');

const STRICT = { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022' };

test('the tarball has everything package.json names, types first, and its .d.ts imports resolve', () => {
  const consumer = join(packed.dir, 'manifest');
  makeConsumer(packed, consumer, {}, []);
  const root = unpacked(consumer);
  const pkg = readJson<Manifest>(join(root, 'package.json'));
  const declarations = new Map([...packed.files].filter((f) => f.endsWith('.d.ts')).map((f) => [f, readFileSync(join(root, f), 'utf8')]));
  assert.ok(declarations.size > 20, `only ${declarations.size} .d.ts files were packed (prepack builds them)`);
  assert.equal(checkManifest(pkg, packed.files, declarations), []);
  assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /MIT License/);
  // TypeScript < 6 lacks WebGPU in its DOM lib: its entries bring @webgpu/types. Later ones
  // have it, and @webgpu/types would clash with it, so the plain entries must not.
  for (const entry of ['index.node', 'index.browser']) {
    assert.match(declarations.get(`dist/types/${entry}.ts5.d.ts`)!, /<reference types="@webgpu\/types"/);
    assert.not.match(declarations.get(`dist/types/${entry}.d.ts`)!, /@webgpu\/types/);
  }
});

test('a Node TypeScript project (nodenext, ESM and CommonJS) type-checks against the tarball', () => {
  const dir = join(packed.dir, 'node-project');
  const nodenext = { ...STRICT, module: 'nodenext', moduleResolution: 'nodenext' };
  makeConsumer(packed, dir, {
    'package.json': JSON.stringify({ name: 'consumer-node', private: true, type: 'module' }),
    // No `lib`: TypeScript's default for the target, DOM included (@webgpu/types, what TypeScript < 6
    // needs, is written against DOM too).
    'tsconfig.json': JSON.stringify({ compilerOptions: { ...nodenext, types: ['node'] }, files: ['index.ts', 'legacy.cts'] }),
    'index.ts': [
      "import { Communicator, createNodeDevice, readRegion, region, WebcclError, type CommBuffer } from 'webccl';",
      "import * as webccl from 'webccl';",
      'export async function step(): Promise<number> {',
      '  const device: GPUDevice = await createNodeDevice();',
      '  const grads: GPUBuffer = device.createBuffer({ size: 16, usage: 0x84 });', // STORAGE | COPY_SRC: TypeScript 7.0's DOM lib lacks GPUBufferUsage,
      '  const comm = await Communicator.fromEnv({ device });',
      "  const send: CommBuffer = grads;",
      "  await comm.allReduce(send, grads, 4, 'float32', 'avg');",
      '  const bytes: Uint8Array = await readRegion(device, region(grads), 16);',
      '  await comm.destroy();',
      '  // @ts-expect-error the Node entry has no browser device helper',
      '  void webccl.createBrowserDevice;',
      '  return bytes.length + (new WebcclError(\'InternalError\', \'x\') instanceof Error ? 1 : 0);',
      '}',
    ].join('\n'),
    'legacy.cts': "import webccl = require('webccl');\nexport const make: typeof webccl.Communicator.init = webccl.Communicator.init;\n",
  }, ['@types/node', 'ws']);
  typeCheck(dir);
});

test('a browser TypeScript project (no Node types) sees createBrowserDevice, by condition and by subpath', () => {
  const dir = join(packed.dir, 'browser-project');
  const browserSource = (from: string) => [
    `import { Communicator, createBrowserDevice, getUniqueId } from '${from}';`,
    'export async function join(id: string, rank: number, size: number): Promise<Communicator> {',
    '  const device: GPUDevice = await createBrowserDevice();',
    '  const buffer: GPUBuffer = device.createBuffer({ size: 4, usage: 0x80 });', // STORAGE,
    '  const comm = await Communicator.init({ id: id || await getUniqueId(), rank, size, device });',
    "  await comm.allReduce(buffer, buffer, 1, 'float32', 'sum');",
    '  return comm;',
    '}',
  ].join('\n');
  const bundler = { ...STRICT, module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [] };
  makeConsumer(packed, dir, {
    'package.json': JSON.stringify({ name: 'consumer-browser', private: true, type: 'module' }),
    // A bundler resolving for the browser (Vite, esbuild --platform=browser) uses the browser condition.
    'tsconfig.json': JSON.stringify({ compilerOptions: { ...bundler, customConditions: ['browser'] }, files: ['by-condition.ts'] }),
    // Without customConditions TypeScript would pick the Node types: the subpath is explicit.
    'tsconfig.subpath.json': JSON.stringify({ compilerOptions: bundler, files: ['by-subpath.ts'] }),
    'by-condition.ts': browserSource('webccl'),
    'by-subpath.ts': browserSource('webccl/browser'),
  }, []);
  typeCheck(dir);
  typeCheck(join(dir, 'tsconfig.subpath.json'));
});

test('the Node entry loads with import and with require(), and runs a CPU allReduce', () => {
  const dir = join(packed.dir, 'node-runtime');
  makeConsumer(packed, dir, {
    'package.json': JSON.stringify({ name: 'consumer-runtime', private: true }),
    'run.cjs': [
      "const { Communicator, getUniqueId } = require('webccl');",
      '(async () => {',
      "  const id = await getUniqueId({ transport: 'inproc' });",
      '  const comms = await Promise.all([0, 1].map((rank) => Communicator.init({ id, rank, size: 2 })));',
      '  const data = [new Float32Array([1, 2]), new Float32Array([10, 20])];',
      "  await Promise.all(comms.map((c, r) => c.allReduce(data[r], data[r], 2, 'float32', 'sum')));",
      '  await Promise.all(comms.map((c) => c.destroy()));',
      "  const esm = await import('webccl');",
      "  console.log(JSON.stringify({ sums: data.map((d) => [...d]), sameClass: esm.Communicator === Communicator }));",
      '})();',
    ].join('\n'),
  }, ['ws', 'webgpu', 'bufferutil']);
  const out = execFileSync(process.execPath, ['run.cjs'], { cwd: dir, encoding: 'utf8' });
  assert.equal(JSON.parse(out.trim().split('\n').pop()!), { sums: [[11, 22], [11, 22]], sameClass: true });
});

test('installed without optional dependencies (no Dawn): import works, a CPU allReduce runs, createNodeDevice says what is missing', () => {
  // What `npm install --omit=optional` leaves: ws only, neither webgpu nor bufferutil.
  const dir = join(packed.dir, 'no-optional');
  makeConsumer(packed, dir, {
    'package.json': JSON.stringify({ name: 'consumer-no-optional', private: true, type: 'module' }),
    'run.mjs': [
      "import { Communicator, createNodeDevice, getUniqueId } from 'webccl';",
      "const id = await getUniqueId({ transport: 'inproc' });",
      'const comms = await Promise.all([0, 1].map((rank) => Communicator.init({ id, rank, size: 2 })));',
      'const data = [new Int32Array([1, 2, 3]), new Int32Array([4, 5, 6])];',
      "await Promise.all(comms.map((c, r) => c.allReduce(data[r], data[r], 3, 'int32', 'max')));",
      'await Promise.all(comms.map((c) => c.destroy()));',
      'const error = await createNodeDevice().then(() => null, (e) => e);',
      'console.log(JSON.stringify({ result: [...data[0]], code: error?.code, message: error?.message }));',
    ].join('\n'),
  }, ['ws']);
  const out = execFileSync(process.execPath, ['run.mjs'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const report = JSON.parse(out.trim().split('\n').pop()!) as { result: number[]; code: string; message: string };
  assert.equal(report.result, [4, 5, 6]);
  assert.is(report.code, 'SystemError');
  assert.match(report.message, /optional dependency 'webgpu'.*not installed/);
});

test('webccl-run from the package runs a .ts script through the project\'s tsx, and without one says so in one line', () => {
  const dir = join(packed.dir, 'run-ts');
  // A stand-in for tsx: what matters is that webccl-run finds it in the project and imports it.
  const fakeTsxHooks = "export async function load(url, context, next) { return url.endsWith('.ts') ? next(url, { ...context, format: 'module' }) : next(url, context); }";
  makeConsumer(packed, dir, {
    'package.json': JSON.stringify({ name: 'consumer-run-ts', private: true, type: 'module' }),
    'rank.ts': "console.log('rank', process.env.RANK, 'of', process.env.WORLD_SIZE);\n",
  }, ['ws']);
  const webcclRun = (...args: string[]) => spawnSync(process.execPath, [join(dir, 'node_modules/webccl/dist/bin/webccl-run.js'), ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  if (!(process.features as { typescript?: string }).typescript) {
    const refused = webcclRun('-np', '2', 'rank.ts');
    assert.is(refused.status, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /^webccl-run: cannot run rank\.ts: .*install tsx in your project/);
    assert.is(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  }
  mkdirSync(join(dir, 'node_modules', 'tsx'));
  writeFileSync(join(dir, 'node_modules/tsx/package.json'), JSON.stringify({ name: 'tsx', type: 'module', exports: { '.': './loader.mjs', './package.json': './package.json' } }));
  writeFileSync(join(dir, 'node_modules/tsx/loader.mjs'), `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(fakeTsxHooks)}));\n`);
  const ran = webcclRun('-np', '2', 'rank.ts');
  assert.is(ran.status, 0, ran.stdout + ran.stderr);
  assert.equal(ran.stdout.trim().split('\n').sort(), ['[rank0]: rank 0 of 2', '[rank1]: rank 1 of 2']);
});

test.after(() => packed.remove());
test.run();
