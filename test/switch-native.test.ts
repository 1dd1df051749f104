// What only the native data plane has: its thread and socket are given back on close (no fd or
// thread left after many switches with running jobs and a mid-job stop), jobs of UDP and
// WebSocket workers share its slots, and without the addon (WEBCCL_NATIVE=0) the switch runs on
// the TypeScript plane while `dataPlane: 'native'` is refused with the reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { int32Sum, joinJob, randomInt32 } from './helpers/switch-job.js';
import { within } from './within.js';

/** Open descriptors, less /dev/null (which a child's 'ignore' stdio may keep). */
const fdCount = () => readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) !== '/dev/null'; } catch { return false; } }).length;
const threadCount = () => readdirSync('/proc/self/task').length;

test('native plane: 12 switches, each with a running job closed mid-call, leave no descriptor or thread behind', async () => {
  // Warm up once: the first switch loads the addon and starts libuv's and V8's own threads.
  const warm = await SwitchServer.start({ port: 0, dataPlane: 'native' });
  await warm.close();
  await new Promise((done) => setTimeout(done, 100));
  const fds = fdCount();
  const threads = threadCount();
  for (let i = 0; i < 12; i++) {
    const server = await SwitchServer.start({ port: 0, dataPlane: 'native', faults: { reorder: 0.05, seed: i + 1 } });
    assert.is(server.dataPlane, 'native');
    assert.ok(threadCount() > threads, 'the plane runs its own thread');
    const workers = await joinJob(server, 2);
    const inputs = workers.map((_, r) => randomInt32(3000, r + i));
    const got = await within(Promise.all(workers.map((w, r) => w.allReduce(inputs[r]!))), 10_000, 'call');
    for (const g of got) assert.equal(g, int32Sum(inputs));
    const pending = workers.map((w) => w.allReduce(randomInt32(50_000, i)).catch(() => undefined));
    await server.close(); // with datagrams held by the reorder fault and a call in flight
    for (const w of workers) w.close();
    await pending;
    const counters = server.counters();
    assert.is(counters.dataPlane, 'native');
    assert.ok(counters.datagrams > 0 && counters.jobs[0]!.packetsIn > 0, JSON.stringify(counters));
  }
  await new Promise((done) => setTimeout(done, 200));
  assert.is(fdCount(), fds, 'descriptors');
  assert.is(threadCount(), threads, 'threads');
});

test('without the addon (WEBCCL_NATIVE=0): the switch takes the TypeScript plane and stays exact; dataPlane native is refused with the reason', () => {
  const child = spawnSync(process.execPath, ['--import', './test/register.mjs', 'test/workers/switch-no-native.ts'], {
    env: { ...process.env, WEBCCL_NATIVE: '0' }, encoding: 'utf8', timeout: 30_000,
  });
  assert.is(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim().split('\n').pop()!);
  assert.equal(result, { plane: 'js', counted: 'js', exact: true, refused: 'SystemError: switch: the native data plane is unavailable: WEBCCL_NATIVE=0' });
});

test.run();
