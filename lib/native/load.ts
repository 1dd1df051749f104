// Finds and loads the native addon (built by native/build.mjs at install) once per process.
// Node-only. Never throws: a missing file, a failed dlopen, an ABI mismatch, a build older than
// its sources or WEBCCL_NATIVE=0 all yield { unavailable: reason }, and callers take their
// pure-TS path or report the reason.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detailOf } from '../errors.js';
import { logger } from '../log.js';
import { readNativeEnabled } from '../settings.js';
import type { NativeAddon, NativeLoad } from './addon.js';

export type { NativeAddon, NativeLoad } from './addon.js';

/**
 * Where the built addon lies relative to this module: lib/native/load.ts when run from source
 * and dist/node/index.js when bundled are both two folders below the package root.
 */
export function defaultAddonPath(): string {
  return fileURLToPath(new URL('../../native/build/Release/webccl_native.node', import.meta.url));
}

let cached: NativeLoad | undefined;

/** The addon at `path` (default: the build output), loaded once; { unavailable } otherwise. */
export function loadNative(path?: string): NativeLoad {
  if (path !== undefined) return load(path);
  cached ??= load(defaultAddonPath());
  return cached;
}

/** The addon, or undefined when it is unavailable (the reason is logged once at INFO). */
export function nativeAddon(): NativeAddon | undefined {
  const wasCached = cached !== undefined;
  const result = loadNative();
  if ('addon' in result) return result.addon;
  if (!wasCached) logger('NATIVE').info(`native addon unavailable: ${result.unavailable}`);
  return undefined;
}

function load(path: string): NativeLoad {
  try {
    if (!readNativeEnabled()) return { unavailable: 'WEBCCL_NATIVE=0' };
  } catch (error) {
    return { unavailable: detailOf(error) };
  }
  if (!existsSync(path)) return { unavailable: `${path} not found (build it with \`node native/build.mjs\`)` };
  try {
    const stale = newerSource(path);
    if (stale !== undefined) return { unavailable: `${path} is older than ${stale} (a stale build: rebuild it with \`node native/build.mjs\`)` };
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    if (typeof addon.reduceAccumulate !== 'function') return { unavailable: `${path} is not webccl's addon` };
    return { addon };
  } catch (error) {
    return { unavailable: `loading ${path} failed: ${detailOf(error)}` };
  }
}

/**
 * A source of the addon changed after it was built (native/src or binding.gyp, beside the
 * build folder: a checkout that moved on without `node native/build.mjs`). Such a build's
 * exports may not match what lib calls, and a board or stream given arguments an older build
 * ignores can wait forever instead of failing, so it is not loaded. An install builds after
 * unpacking, and a prebuilt binary shipped without sources has nothing to compare with.
 */
function newerSource(path: string): string | undefined {
  const native = join(dirname(path), '..', '..');
  const src = join(native, 'src');
  if (!existsSync(src)) return undefined;
  const built = statSync(path).mtimeMs;
  const sources = [...readdirSync(src).map((name) => join(src, name)), join(native, 'binding.gyp')];
  return sources.find((source) => existsSync(source) && statSync(source).mtimeMs > built);
}

/** The reason as users see it in errors and logs. */
export function describeUnavailable(result: NativeLoad): string | undefined {
  return 'unavailable' in result ? `unavailable: ${result.unavailable}` : undefined;
}
