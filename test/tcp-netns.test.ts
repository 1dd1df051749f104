// bench/tcp-netns.sh, small: 2 ranks in network namespaces of their own, on veth links to a
// bridge, allreduce over the native tcp provider (ntcp) at 1 and 4 MiB with every result checked
// (#wrong 0); the rank's endpoints must listen on its veth address (WEBCCL_SOCKET_IFNAME inside
// the namespace), and the namespaces must be gone afterwards. Correctness, not speed. Needs root
// and iproute2, as test/switch-rack.test.ts does: fails, never skips, without them (the script
// exits 2 saying so). The closing table's rounds, medians and ratios are checked on files
// written here (tcp-netns-report.ts), so they need no root and no Gloo.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { within } from './within.js';

function run(command: string, args: readonly string[], killAfterMs: number): Promise<{ code: number | null; out: string; pid: number }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk; });
  child.stderr.on('data', (chunk: Buffer) => { out += chunk; });
  // SIGTERM lets the script's trap remove its namespaces.
  setTimeout(() => child.kill('SIGTERM'), killAfterMs).unref();
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, pid: child.pid! })));
}

test('2 ranks in their own namespaces over veth and a bridge (ntcp): 1 and 4 MiB allreduce, #wrong 0, namespaces removed', async () => {
  const { code, out, pid } = await within(run('bash', ['bench/tcp-netns.sh', '-n', '2', '-b', '1M', '-e', '4M', '-f', '4', '-i', '1', '-w', '1', '-c', '1', '-T', 'ntcp', '-G', '0'], 80_000), 90_000, 'tcp-netns.sh');
  assert.is(code, 0, out);
  assert.match(out, /^# tcp-netns: 2 ranks, each in its own netns on a veth link \(MTU 1500, unshaped\)/m, out);
  assert.match(out, /^# ranks: 2 {2}transport: ntcp /m, out);
  const rows = out.split('\n').filter((line) => /^\s+\d+\s+\d+\s+float/.test(line)).map((line) => line.trim().split(/\s+/));
  assert.equal(rows.map((row) => row[0]), ['1048576', '4194304'], out);
  // Columns: size count type redop root | time algbw busbw #wrong | time algbw busbw #wrong.
  for (const row of rows) assert.equal([row[8], row[12]], ['0', '0'], row.join(' '));
  assert.match(out, /^ +1 MiB +\d+\.\d{3}$/m, 'the closing table has the ntcp busbw');
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((ns) => ns.startsWith(`wt${pid % 10000}`));
  assert.equal(left, [], 'namespaces left behind');
});

test('the closing table: one per round, then each contestant\'s median time per size, and ntcp/gloo busbw ratios', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcp-netns-report-'));
  try {
    // 1 MiB at 2 ranks: busbw = bytes / time (2(n-1)/n = 1); ntcp 1000, 3000, 2000 us, Gloo 2000, 2000, 4000 us.
    const files = [1000, 3000, 2000].map((us, round) => {
      const file = join(dir, `ntcp.${round}.json`);
      writeFileSync(file, JSON.stringify({ results: [{ size: 1 << 20, in_place: { time: us } }] }));
      return file;
    });
    const gloo = [2000, 2000, 4000].map((us, round) => {
      const file = join(dir, `gloo.${round}.out`);
      writeFileSync(file, `some log line\n{"bytes": ${1 << 20}, "timeUs": ${us}}\n`);
      return file;
    });
    const args = ['--import', './test/register.mjs', 'bench/tcp-netns-report.ts', '--np', '2'];
    for (let round = 0; round < 3; round++) args.push('--webccl', `ntcp=${files[round]}`, '--gloo', gloo[round]!);
    const { code, out } = await within(run(process.execPath, args, 30_000), 40_000, 'tcp-netns-report.ts');
    assert.is(code, 0, out);
    const ratios = [...out.matchAll(/^ +1 MiB +(\d+\.\d+) +(\d+\.\d+) +(\d+\.\d+)$/gm)].map((m) => m[3]);
    // Rounds: 2000/1000, 2000/3000, 4000/2000; medians 2000 and 2000: 1.00.
    assert.equal(ratios, ['2.00', '0.67', '2.00', '1.00'], out);
    assert.match(out, /^# round 3 of 3$/m);
    assert.match(out, /^# median time per size over 3 rounds$/m);
    assert.match(out, /webccl-ntcp\/gloo/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
