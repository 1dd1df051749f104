// The package as npm ships it: `npm pack` (whose prepack builds the bundles and dist/types)
// into a temporary folder, unpacked into a consumer project's node_modules/webccl. The
// consumer's other dependencies are links into this checkout's node_modules, so nothing is
// downloaded.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

export interface Packed {
  /** Scratch folder holding the tarball; remove() deletes it. */
  readonly dir: string;
  readonly tarball: string;
  /** Paths in the tarball, relative to the package root. */
  readonly files: ReadonlySet<string>;
  remove(): void;
}

export function packPackage(): Packed {
  const dir = mkdtempSync(join(tmpdir(), 'webccl-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  // npm prints the prepack script's output before the JSON report.
  const report = JSON.parse(out.slice(out.indexOf('[\n'))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const entry = report[0]!;
  return {
    dir,
    tarball: join(dir, entry.filename),
    files: new Set(entry.files.map((f) => f.path)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A consumer project in `dir`: package.json, the given source files, webccl unpacked from the
 * tarball and `links` (package names) linked from this checkout's node_modules.
 */
export function makeConsumer(packed: Packed, dir: string, files: Record<string, string>, links: readonly string[]): void {
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, 'webccl'), { recursive: true });
  execFileSync('tar', ['-xzf', packed.tarball, '-C', join(modules, 'webccl'), '--strip-components=1']);
  for (const name of links) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules', name), join(modules, name), 'dir');
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/** Runs this checkout's TypeScript compiler on a consumer's tsconfig; resolves with its output, throws it on errors. */
export function typeCheck(project: string): string {
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    return execFileSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc -p ${project} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
