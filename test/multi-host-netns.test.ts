// Multi-host for real on one machine: two network namespaces (two "hosts", each with its own
// address and nothing else in common) joined by a veth pair, one `webccl-run --nnodes 2` per
// namespace with 2 ranks each, WEBCCL_SOCKET_IFNAME naming each host's interface (the same
// environment on both hosts, as srun or mpirun -x would give) and one shared WEBCCL_SECRET;
// allreduce exact on all 4 ranks, over the websocket and the tcp mesh. Needs root and iproute2
// (the project's machines have both); fails, never skips, without them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { within } from './within.js';

const tag = `${process.pid % 10000}`;
const hosts = [0, 1].map((i) => ({ ns: `wccl${tag}h${i}`, dev: `wccl${tag}v${i}` }));
// A /24 of its own per run, so that parallel runs do not meet.
const subnet = `10.${200 + (process.pid % 50)}.${process.pid % 250}`;
const addressOf = (i: number) => `${subnet}.${i + 1}`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function teardown(): void {
  for (const { ns } of hosts) {
    try { ip('netns', 'del', ns); } catch { /* not there */ }
  }
}

test.before(() => {
  teardown();
  for (const { ns } of hosts) ip('netns', 'add', ns);
  ip('link', 'add', hosts[0]!.dev, 'type', 'veth', 'peer', 'name', hosts[1]!.dev);
  hosts.forEach(({ ns, dev }, i) => {
    ip('link', 'set', dev, 'netns', ns);
    ip('-n', ns, 'addr', 'add', `${addressOf(i)}/24`, 'dev', dev);
    ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  });
});

test.after(teardown);

function runHost(i: number, transport: string, port: number, secret: string): Promise<{ code: number | null; out: string }> {
  const args = ['netns', 'exec', hosts[i]!.ns, process.execPath, '--import', './test/register.mjs', 'bin/webccl-run.ts',
    '-np', '2', '--nnodes', '2', '--node-rank', String(i), '--master-addr', addressOf(0), '--master-port', String(port),
    'test/workers/comm-rank.ts', 'allreduce'];
  const env: NodeJS.ProcessEnv = { ...process.env, WEBCCL_SECRET: secret, WEBCCL_SOCKET_IFNAME: 'wccl', WEBCCL_TRANSPORT: transport };
  for (const name of ['WEBCCL_ID', 'WEBCCL_SOCKET_HOST', 'RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT']) delete env[name];
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk; });
  child.stderr.on('data', (chunk: Buffer) => { out += chunk; });
  setTimeout(() => child.kill('SIGKILL'), 90_000).unref();
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

for (const [n, transport] of ['websocket', 'tcp'].entries()) {
  test(`2 hosts x 2 ranks over a veth pair (${transport}): every rank on its host's address, allreduce exact`, async () => {
    const secret = randomBytes(16).toString('hex');
    const results = await within(Promise.all([0, 1].map((i) => runHost(i, transport, 29400 + n, secret))), 100_000, 'both hosts');
    const reports = results.flatMap(({ out }) => out.split('\n').filter((line) => line.includes('{"rank"')).map((line) => JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>));
    results.forEach(({ code, out }, i) => assert.is(code, 0, `host ${i}:\n${out}`));
    const ready = reports.filter((r) => r['event'] === 'ready');
    assert.equal(ready.map((r) => r['rank']).sort(), [0, 1, 2, 3]);
    const reduced = reports.filter((r) => r['event'] === 'reduced');
    assert.is(reduced.length, 8, JSON.stringify(reports));
    for (const r of reduced) assert.is(r['wrong'], -1, JSON.stringify(r));
  });
}

test.run();
