// .ci/setup provisions Debian bookworm only (it adds bookworm-backports): on any other system it
// must refuse before touching apt, saying what to install by hand. The distribution is read from
// a fake os-release named by WEBCCL_OS_RELEASE, so this runs the same on any machine.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'webccl-ci-setup-'));

function osRelease(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function run(script: string, osReleaseFile: string) {
  return spawnSync('bash', [script], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, WEBCCL_OS_RELEASE: osReleaseFile } });
}

test('setup on Ubuntu: exit 1 before any apt step, naming what to install by hand', () => {
  const ubuntu = osRelease('ubuntu', 'PRETTY_NAME="Ubuntu 24.04 LTS"\nNAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n');
  const result = run('.ci/setup', ubuntu);
  assert.is(result.status, 1, result.stderr);
  assert.match(result.stderr, /this is Ubuntu 24\.04 LTS, not Debian 12 \(bookworm\); nothing was changed/);
  for (const what of ['mesa-vulkan-drivers', 'chromium', 'g\\+\\+, make and python3', 'npm ci']) assert.match(result.stderr, new RegExp(what));
  assert.is(result.stdout, '');
});

test('os-check: Debian bookworm passes (quoted or not); trixie, Fedora and no file refuse', () => {
  assert.is(run('.ci/os-check', osRelease('bookworm', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n')).status, 0);
  assert.is(run('.ci/os-check', osRelease('bookworm-quoted', 'ID="debian"\nVERSION_CODENAME="bookworm"\n')).status, 0);
  const trixie = run('.ci/os-check', osRelease('trixie', 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_CODENAME=trixie\n'));
  assert.is(trixie.status, 1);
  assert.match(trixie.stderr, /this is Debian GNU\/Linux 13 \(trixie\), not Debian 12/);
  assert.is(run('.ci/os-check', osRelease('fedora', 'ID=fedora\nVERSION_ID=40\n')).status, 1);
  const none = run('.ci/os-check', join(dir, 'absent'));
  assert.is(none.status, 1);
  assert.match(none.stderr, /an unknown system \(no .*absent\)/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
