// The packed tarball as the ecosystem's own checkers see it: publint (package.json fields,
// files, exports) and @arethetypeswrong/cli (every entry's types resolve under node10, node16
// from CJS and ESM, and bundlers). Both pack the package themselves (prepack builds dist/ and
// the declarations). attw's cjs-resolves-to-esm is expected: require('webccl') loads ESM, which
// Node >= 20.19 does (package.json engines).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

function run(bin: string, args: string[]): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, [`node_modules/${bin}`, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { status: result.status, out: `${result.stdout}\n${result.stderr}` };
}

test('publint finds no error or warning in the packed package', () => {
  const { status, out } = run('publint/src/cli.js', ['--level', 'warning', '--strict']);
  assert.is(status, 0, out);
  assert.not.match(out, /Errors:|Warnings:/, out);
});

test('attw: every entry (., ./browser, ./tfjs) resolves its types in every module mode', () => {
  const { status, out } = run('@arethetypeswrong/cli/dist/index.js', ['--pack', '.', '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'table-flipped']);
  assert.is(status, 0, out);
  assert.match(out, /webccl\/tfjs/, out);
});

test.run();
