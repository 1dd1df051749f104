// webccl-perf with the switch algorithm over its two paths: UDP (the default) and the switch's
// WebSocket door (--switch-via websocket, for measuring the path browser tabs take). The
// switch webccl-perf starts prints its counters after the table, which say which path the
// packets took: datagrams or WebSocket messages.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { countersHeading } from '../bench/perf/switch.js';

function parse(...argv: string[]): PerfOptions {
  const parsed = parsePerfArgs(argv);
  if (parsed === 'help' || parsed === 'version') throw new Error(parsed);
  return parsed;
}

function perf(...args: string[]) {
  return spawnSync(process.execPath, ['--import', './test/register.mjs', 'bin/webccl-perf.ts', 'allreduce', '--algo', 'switch', '--mem', 'cpu',
    '-b', '4K', '-e', '64K', '-f', '16', '-n', '1', '-w', '0', '--jit-warmup', '0', '-c', '1', ...args], { encoding: 'utf8', timeout: 90_000 });
}

/** The switch's totals line printed after the table: [datagrams, websocket messages]. */
function traffic(stdout: string): [number, number] {
  assert.match(stdout, /^# switch counters over the whole run:$/m, 'the counters say what they cover (no warm-up here: --jit-warmup 0)');
  const found = /^# switch(?: \([^)]*\))?: (\d+) datagrams, (\d+) websocket messages/m.exec(stdout);
  assert.ok(found, `no switch counters in:\n${stdout}`);
  return [Number(found![1]), Number(found![2])];
}

test('the counters\' heading names the JIT warm-up\'s calls when the run had one', () => {
  assert.match(countersHeading(5000), /the JIT warm-up's calls included \(--jit-warmup 0 leaves them out\):$/);
  assert.is(countersHeading(0), '# switch counters over the whole run:');
});

test('--switch-via: udp or websocket; websocket needs the door\'s URL in --switch', () => {
  assert.is(parse('allreduce').switchVia, undefined);
  assert.is(parse('allreduce', '--switch-via', 'WebSocket').switchVia, 'websocket');
  assert.throws(() => parse('allreduce', '--switch-via', 'carrier-pigeon'), /--switch-via must be one of udp, websocket, got "carrier-pigeon"/);
  assert.throws(() => parse('allreduce', '--switch', '127.0.0.1:48864', '--switch-via', 'websocket'), /--switch-via websocket: --switch 127.0.0.1:48864 names no ws:\/\/ URL/);
  const both = parse('allreduce', '--switch', '127.0.0.1:48864,ws://127.0.0.1:48865', '--switch-via', 'websocket');
  assert.equal([both.switch, both.switchVia], ['127.0.0.1:48864,ws://127.0.0.1:48865', 'websocket']);
});

test('3 in-process ranks through the door: #wrong 0, and the switch saw WebSocket messages only; by default UDP datagrams only', () => {
  const door = perf('--np', '3', '--transport', 'inproc', '--switch-via', 'websocket');
  assert.is(door.status, 0, door.stderr);
  assert.match(door.stdout, /# Out of bounds values : 0 OK/);
  const [datagrams, messages] = traffic(door.stdout);
  assert.is(datagrams, 0, 'no UDP');
  assert.ok(messages > 0, 'packets through the door');
  const udp = perf('--np', '3', '--transport', 'inproc');
  assert.is(udp.status, 0, udp.stderr);
  const [udpDatagrams, udpMessages] = traffic(udp.stdout);
  assert.ok(udpDatagrams > 0 && udpMessages === 0, `UDP only: ${udpDatagrams} datagrams, ${udpMessages} messages`);
});

test('2 ranks launched by --np (tcp) through the door: the launched ranks take the address list and the path too', () => {
  const door = perf('--np', '2', '--transport', 'tcp', '--switch-via', 'websocket');
  assert.is(door.status, 0, door.stderr);
  assert.match(door.stdout, /# Out of bounds values : 0 OK/);
  const [datagrams, messages] = traffic(door.stdout);
  assert.ok(datagrams === 0 && messages > 0, `door only: ${datagrams} datagrams, ${messages} messages`);
});

test.run();
