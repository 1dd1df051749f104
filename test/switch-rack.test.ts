// The simulated rack of bench/switch-rack.sh, small: 2 rank namespaces and a switch namespace,
// links shaped to 1 Gb/s, tiny sizes; both nccl-tests tables (ring over tcp, then switch) must
// appear with every #wrong 0, and the namespaces must be gone afterwards. It also covers the
// switch worker reaching a switch on another host (its data socket was loopback-only), and the
// 'auto' switch packet size read from the path MTU (the veths run at 9000: 2048 values). Needs
// root and iproute2, as test/multi-host-netns.test.ts does: fails, never skips, without them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { within } from './within.js';

function run(): Promise<{ code: number | null; out: string; pid: number }> {
  const child = spawn('bash', ['bench/switch-rack.sh', '-n', '2', '-b', '4K', '-e', '16K', '-f', '4', '-i', '1', '-w', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk; });
  child.stderr.on('data', (chunk: Buffer) => { out += chunk; });
  // SIGTERM lets the script's trap remove its namespaces.
  setTimeout(() => child.kill('SIGTERM'), 60_000).unref();
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, pid: child.pid! })));
}

/** The data rows of the table printed after `# algorithm: name`. */
function rowsOf(out: string, name: string): string[][] {
  const section = out.split('# algorithm: ')[['ring', 'switch'].indexOf(name) + 1] ?? '';
  assert.ok(section.startsWith(name), `no ${name} table:\n${out}`);
  return section.split('\n').filter((line) => /^\s+\d+\s+\d+\s+float/.test(line)).map((line) => line.trim().split(/\s+/));
}

test('2 ranks on shaped veth links (MTU 9000): a ring table and a switch table, sizes 4K and 16K, #wrong 0, 2048-value packets, namespaces removed', async () => {
  const { code, out, pid } = await within(run(), 70_000, 'switch-rack.sh');
  assert.is(code, 0, out);
  for (const name of ['ring', 'switch']) {
    const rows = rowsOf(out, name);
    assert.equal(rows.map((row) => row[0]), ['4096', '16384'], `${name}:\n${out}`);
    // Columns: size count type redop root | time algbw busbw #wrong | time algbw busbw #wrong.
    for (const row of rows) assert.equal([row[8], row[12]], ['0', '0'], `${name}: ${row.join(' ')}`);
  }
  assert.match(out, /^# switch: 2048 values a packet$/m, 'auto packets at MTU 9000');
  assert.match(out, /^# {3}job \d+ .*\(2 workers\): in \d+/m, 'the switch\'s counters');
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((ns) => ns.startsWith(`wr${pid % 10000}`));
  assert.equal(left, [], 'namespaces left behind');
});

test.run();
