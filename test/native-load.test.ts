// The native loader: the built addon loads (when this machine built it), and every way of not
// having it ends in { unavailable: reason } without throwing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { defaultAddonPath, describeUnavailable, loadNative } from '../lib/native/load.js';
import { readNativeEnabled } from '../lib/settings.js';
import { isReduceVariant } from './helpers/reduce-variants.js';

test('native: the addon built by native/build.mjs loads and reports its reduction variant', () => {
  const result = loadNative();
  assert.ok('addon' in result, describeUnavailable(result));
  if ('addon' in result) assert.ok(isReduceVariant(result.addon.reduceVariant), result.addon.reduceVariant);
});

test('native: a missing file gives "unavailable: <reason>"', () => {
  const result = loadNative('/nonexistent/webccl_native.node');
  assert.equal(describeUnavailable(result), 'unavailable: /nonexistent/webccl_native.node not found (build it with `node native/build.mjs`)');
});

test('native: a file that is no addon gives a reason, not a crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webccl-native-'));
  try {
    const bogus = join(dir, 'webccl_native.node');
    writeFileSync(bogus, 'not an ELF file');
    const reason = describeUnavailable(loadNative(bogus));
    assert.match(reason ?? '', /^unavailable: loading .*webccl_native\.node failed: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('native: a build older than a source beside it is not loaded (a stale build), one newer is', () => {
  // The layout of the package: native/src and native/binding.gyp beside native/build/Release.
  const dir = mkdtempSync(join(tmpdir(), 'webccl-native-'));
  try {
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    mkdirSync(join(dir, 'src'));
    const built = join(dir, 'build', 'Release', 'webccl_native.node');
    copyFileSync(defaultAddonPath(), built);
    const source = join(dir, 'src', 'board.cc');
    writeFileSync(source, '// changed after the build');
    writeFileSync(join(dir, 'binding.gyp'), '{}');
    const buildTime = new Date(Date.now() - 60_000);
    utimesSync(built, buildTime, buildTime);
    utimesSync(join(dir, 'binding.gyp'), new Date(buildTime.getTime() - 1000), new Date(buildTime.getTime() - 1000));
    const stale = describeUnavailable(loadNative(built)) ?? '';
    assert.match(stale, /^unavailable: .*webccl_native\.node is older than .*src\/board\.cc \(a stale build: rebuild it with `node native\/build\.mjs`\)$/);
    utimesSync(source, new Date(buildTime.getTime() - 1000), new Date(buildTime.getTime() - 1000));
    const fresh = loadNative(built);
    assert.ok('addon' in fresh, describeUnavailable(fresh));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('native: WEBCCL_NATIVE=0 forces the fallback, other values are refused', () => {
  assert.is(readNativeEnabled({ WEBCCL_NATIVE: '0' }), false);
  assert.is(readNativeEnabled({}), true);
  assert.throws(() => readNativeEnabled({ WEBCCL_NATIVE: 'yes' }), /^InvalidArgument: WEBCCL_NATIVE=yes is not one of 0, 1/);
  // The loader reads the environment itself: a child with WEBCCL_NATIVE=0 gets the reason.
  const child = spawnSync(process.execPath, ['--import', './test/register.mjs', '-e',
    "import('./lib/native/load.ts').then((m) => console.log(m.describeUnavailable(m.loadNative())))"], {
    env: { ...process.env, WEBCCL_NATIVE: '0' }, encoding: 'utf8',
  });
  assert.is(child.stdout.trim(), 'unavailable: WEBCCL_NATIVE=0', child.stderr);
  assert.ok(defaultAddonPath().endsWith('native/build/Release/webccl_native.node'));
});

test('native: the install script exits 0 with "unavailable: <reason>" on a machine without a compiler', () => {
  // A PATH holding only sh and node: g++, make and python3 are all missing.
  const bin = mkdtempSync(join(tmpdir(), 'webccl-path-'));
  try {
    for (const tool of ['sh', process.execPath]) {
      const which = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      symlinkSync(which, join(bin, tool === 'sh' ? 'sh' : 'node'));
    }
    const child = spawnSync(join(bin, 'node'), ['native/build.mjs'], { env: { PATH: bin }, encoding: 'utf8' });
    assert.is(child.status, 0, child.stderr);
    assert.is(child.stdout.trim(), 'webccl native: unavailable: g++, make, python3 not found (install them and run `node native/build.mjs`)');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test.run();
