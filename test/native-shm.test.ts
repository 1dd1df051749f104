// The shm provider between two processes: two-sided messages (inline and fragmented), one-sided
// writes with and without immediate in both directions, bounds and key errors, a peer killed
// with SIGKILL, stale segments of a crashed job, no /dev/shm or fd leftovers, and a fuzz run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { WebcclError } from '../lib/errors.js';
import { describeUnavailable, loadNative } from '../lib/native/load.js';
import { ShmContext, shmPrefix } from '../lib/native/shm.js';
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { pattern, REGION_BYTES } from './workers/shm-peer.js';
import { rejects } from './helpers/assert.js';
import { hammer } from './helpers/shm-hammer.js';
import { digest, exchangeChecks, fdCount, fuzzProvider, newSecret, pair as pairWith, startPeer, threadCount } from './helpers/native-peer.js';

const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`the shm suite needs the addon: ${describeUnavailable(loaded)}`);
const addon = loaded.addon;

const leftovers = (secret: string) => readdirSync('/dev/shm').filter((name) => name.includes(shmPrefix(secret)));
const pair = (secret: string) => pairWith(addon, secret);

test('shm: messages and one-sided writes between two processes carry the right bytes', async () => {
  const secret = newSecret();
  const fds = fdCount();
  const connected = await pair(secret);
  const { peer, context } = connected;
  assert.equal(leftovers(secret), [], 'connected endpoints leave no names in /dev/shm');
  await exchangeChecks('shm', connected);
  await peer.ask({ cmd: 'destroy' });
  await new Promise((resolve) => peer.child.once('exit', resolve)); // its IPC channel closes with it
  context.destroy();
  assert.equal(leftovers(secret), []);
  assert.is(fdCount(), fds, 'no file descriptor left open');
});

test('shm: bad keys, bounds, lengths and use after destroy throw InvalidArgument', async () => {
  const secret = newSecret();
  const { peer, context, key, endpoint, remoteKey } = await pair(secret);
  const cases: Array<[() => unknown, RegExp]> = [
    [() => endpoint.write(key, 0, 16, remoteKey, REGION_BYTES - 8), /lie outside remote region/],
    [() => endpoint.write(key, 0, 16, remoteKey + 256, 0), /unknown or deregistered remote key/],
    [() => endpoint.write(key, REGION_BYTES, 1, remoteKey, 0), /local bytes \[8388608, 8388609\) lie outside region/],
    [() => endpoint.send(key + 1, 0, 1), /unknown or deregistered memory key/],
    [() => endpoint.recv(key, -1, 1), /offset must be a non-negative integer/],
    [() => endpoint.send(key, 0, 1.5), /length must be a non-negative integer/],
    [() => endpoint.write(key, 0, 1, remoteKey, 0, 2 ** 32), /imm must be a 32-bit unsigned integer/],
    [() => endpoint.connect(endpoint.address()), /already connected/],
    [() => context.createEndpoint('spare').connect('/etc/passwd 1'), /malformed address/],
    [() => context.createEndpoint('spare2').connect('/webccl-nothing-here 1'), /shm_open \/webccl-nothing-here: No such file/],
    [() => context.registerMemory(new Uint8Array(0)), /holds no bytes/],
  ];
  for (const [call, message] of cases) {
    try {
      call();
      assert.unreachable(`expected ${message}`);
    } catch (error) {
      assert.ok(error instanceof WebcclError && error.code === 'InvalidArgument', String(error));
      assert.match((error as Error).message, message);
    }
  }
  const extra = context.registerMemory(new ArrayBuffer(64));
  context.deregisterMemory(extra);
  assert.throws(() => endpoint.send(extra, 0, 1), /unknown or deregistered memory key/);
  assert.throws(() => context.deregisterMemory(extra), /unknown or deregistered memory key/);
  await peer.ask({ cmd: 'destroy' });
  await new Promise((resolve) => peer.child.once('exit', resolve));
  endpoint.destroy();
  assert.throws(() => endpoint.send(key, 0, 1), /the endpoint was destroyed/);
  context.destroy();
  assert.throws(() => context.registerMemory(new Uint8Array(8)), /the context was destroyed/);
  assert.throws(() => context.createEndpoint('x'), /the context was destroyed/);
});

test('shm: a peer killed with SIGKILL fails pending operations with RemoteError; nothing is left behind', async () => {
  const secret = newSecret();
  const fds = fdCount();
  const threads = threadCount();
  const { peer, context, key, endpoint } = await pair(secret);
  assert.is(threadCount(), threads + 1, 'one progress thread per connected endpoint');
  const pendingRecv = endpoint.recv(key, 0, 100);
  peer.child.kill('SIGKILL');
  const error = await rejects(pendingRecv, /^RemoteError: shm recv: peer process \d+ died/);
  assert.ok(error instanceof WebcclError);
  assert.throws(() => endpoint.send(key, 0, 1), /peer process \d+ died/);
  context.destroy();
  assert.equal(leftovers(secret), []);
  assert.is(fdCount(), fds);
  assert.is(threadCount(), threads, 'the progress thread is joined');
});

const joined = (...parts: Uint8Array[]) => Buffer.concat(parts);
/** `promise`, or a failure naming `what` after 10 s (a lost wakeup must fail the test, not hang it). */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in 10 s (a lost wakeup?)`)), 10_000); });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

test('shm sendNow: a small message is sent and complete at return; refused (false) when the ring is full or a post waits ahead of it', async () => {
  const secret = newSecret();
  const fds = fdCount();
  const { peer, context, region, key, endpoint } = await pair(secret);
  const header = pattern(56, 7);
  assert.ok(endpoint.sendNow(header, pattern(8, 9)));
  header.fill(0); // complete at return: the caller's bytes may change at once
  assert.equal(await peer.ask({ cmd: 'recv', count: 1, length: 64 }), [{ bytes: 64, digest: digest(joined(pattern(56, 7), pattern(8, 9))) }]);
  // The peer posts no receive: its ring (4 MiB) fills, and sendNow says so rather than wait.
  const piece = pattern(512 << 10, 3);
  let sent = 0;
  while (endpoint.sendNow(new Uint8Array(0), piece)) sent++;
  assert.ok(sent >= 6 && sent <= 7, `${sent} messages of 512 KiB fill the ring`);
  // A send posted now fills the rest of the ring and waits in the queue; sendNow must not overtake it.
  const tail = 700 << 10;
  region.set(pattern(tail, 4), 0);
  const queued = endpoint.send(key, 0, tail);
  assert.is(endpoint.sendNow(new Uint8Array(0), pattern(10, 5)), false, 'refused: the ring is full, a post waits ahead');
  const drained = await peer.ask({ cmd: 'recv', count: sent + 1, length: 1 << 20 });
  assert.equal(drained.map((m: { bytes: number }) => m.bytes), [...Array(sent).fill(512 << 10), tail]);
  assert.is(drained[sent - 1].digest, digest(piece));
  assert.is(drained[sent].digest, digest(pattern(tail, 4)));
  assert.equal(await queued, { opcode: 'send', bytes: tail });
  assert.ok(endpoint.sendNow(new Uint8Array(0), pattern(10, 5)), 'accepted again once the queue is empty');
  assert.equal(await peer.ask({ cmd: 'recv', count: 1, length: 64 }), [{ bytes: 10, digest: digest(pattern(10, 5)) }]);
  assert.throws(() => endpoint.sendNow(new Uint8Array(0), 'x' as unknown as Uint8Array), /payload must be a TypedArray or DataView/);
  await peer.ask({ cmd: 'destroy' });
  await new Promise((resolve) => peer.child.once('exit', resolve));
  for (let tries = 0; tries < 100 && endpoint.sendNow(new Uint8Array(0), pattern(10, 5)); tries++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.is(endpoint.sendNow(new Uint8Array(0), pattern(10, 5)), false, 'the peer closed: refused');
  endpoint.destroy();
  assert.throws(() => endpoint.sendNow(new Uint8Array(0), pattern(10, 5)), /the endpoint was destroyed/);
  context.destroy();
  assert.equal(leftovers(secret), []);
  assert.is(fdCount(), fds, 'no eventfd or pidfd left open');
});

test('shm doorbell: a writer without a copy of the reader\'s eventfd rings its futex, and the reader\'s thread passes it on; with a spin too', async () => {
  const secret = newSecret();
  // Neither side takes a copy of the other's eventfd (as without ptrace permission): the peer,
  // forked meanwhile, inherits the setting. Both also watch the ring a while after each
  // delivery (WEBCCL_SHM_SPIN_US), so records come both while one spins and after it gave up.
  process.env['WEBCCL_SHM_DOORBELL'] = 'futex';
  process.env['WEBCCL_SHM_SPIN_US'] = '200';
  let paired;
  try {
    paired = await pair(secret);
  } finally {
    delete process.env['WEBCCL_SHM_DOORBELL'];
    delete process.env['WEBCCL_SHM_SPIN_US'];
  }
  const { peer, context, region, key, endpoint } = paired;
  for (let round = 0; round < 20; round++) {
    const back = endpoint.recv(key, 4096, 100);
    assert.equal(await within(peer.ask({ cmd: 'send', offset: 0, length: 33 + round, fill: round }), 'the peer\'s send'), { opcode: 'send', bytes: 33 + round });
    assert.equal(await within(back, 'the receive here'), { opcode: 'recv', bytes: 33 + round });
    assert.is(digest(region.subarray(4096, 4096 + 33 + round)), digest(pattern(33 + round, round)));
    const message = pattern(17 + round, round);
    const arrived = peer.ask({ cmd: 'recv', count: 1, length: 64 });
    if (round % 2) assert.ok(endpoint.sendNow(message.subarray(0, 5), message.subarray(5)));
    else { region.set(message, 0); await within(endpoint.send(key, 0, message.byteLength), 'the send here'); }
    assert.equal(await within(arrived, 'the receive at the peer (its futex doorbell)'), [{ bytes: 17 + round, digest: digest(message) }]);
  }
  await peer.ask({ cmd: 'destroy' });
  await new Promise((resolve) => peer.child.once('exit', resolve));
  context.destroy();
  assert.equal(leftovers(secret), []);
});

test('shm doorbell: small messages both ways with random pauses never stall, whichever way the bell rings', async () => {
  // Each mode of WEBCCL_SHM_BELL, and the deferred bell through the futex (no eventfd copy);
  // the peer, forked meanwhile, inherits the setting. A lost wakeup stalls a message until the
  // reader's progress thread finds it on its 50 ms tick: 600 messages took 0.3-0.8 s at load 32
  // on 2 cores, and 5 s with the re-check before sleeping taken out.
  const modes: Array<Record<string, string>> = [
    { WEBCCL_SHM_BELL: 'defer' }, { WEBCCL_SHM_BELL: 'idle' }, { WEBCCL_SHM_BELL: 'eager' },
    { WEBCCL_SHM_BELL: 'defer', WEBCCL_SHM_DOORBELL: 'futex' },
  ];
  const count = 600;
  for (const mode of modes) {
    const secret = newSecret();
    Object.assign(process.env, mode);
    let paired;
    try {
      paired = await pair(secret);
    } finally {
      for (const name of Object.keys(mode)) delete process.env[name];
    }
    const { peer, context, region, key, endpoint } = paired;
    const [here, there] = await Promise.all([hammer(endpoint, key, region, count), peer.ask({ cmd: 'hammer', count })]);
    assert.is(here.received, count, `${JSON.stringify(mode)}: all the peer's messages arrived here`);
    assert.is(there.received, count, `${JSON.stringify(mode)}: all of this side's messages arrived at the peer`);
    const ms = Math.max(here.ms, there.ms);
    assert.ok(ms < count * 4, `${JSON.stringify(mode)}: ${count} messages each way took ${ms.toFixed(0)} ms (lost wakeups wait for a 50 ms tick)`);
    await peer.ask({ cmd: 'destroy' });
    await new Promise((resolve) => peer.child.once('exit', resolve));
    context.destroy();
    assert.equal(leftovers(secret), []);
  }
});

test('shm: WEBCCL_SHM_BELL must name a mode', () => {
  process.env['WEBCCL_SHM_BELL'] = 'sometimes';
  try {
    assert.throws(() => new ShmContext(addon, newSecret(), { kind: 'shm' }), /WEBCCL_SHM_BELL must be eager, idle or defer, not 'sometimes'/);
  } finally {
    delete process.env['WEBCCL_SHM_BELL'];
  }
});

test('shm single copy: read() takes odd sizes at odd offsets straight from the peer; bad addresses fail cleanly', async () => {
  const { peer, context, endpoint } = await pair(newSecret());
  assert.is(endpoint.readsPeer(), '', 'same uid, ptrace allowed: process_vm_readv works here');
  assert.is(endpoint.peerReads(), true, 'the peer found it can read this process');
  for (const [offset, length] of [[0, 1], [3, 65_535], [4097, 65_537], [1, (1 << 20) + 13]] as const) {
    const { address } = await peer.ask({ cmd: 'expose', offset, length, fill: length & 255 });
    const target = new Uint8Array(length + 2).subarray(1, length + 1);
    endpoint.read(target, address);
    assert.equal(digest(target), digest(pattern(length, length & 255)), `${length} bytes at ${offset}`);
  }
  assert.throws(() => endpoint.read(new Uint8Array(8), 8), /process_vm_readv: Bad address/);
  assert.throws(() => endpoint.read(new Uint8Array(8), -1), /remoteAddress must be a non-negative integer/);
  await peer.ask({ cmd: 'destroy' });
  await new Promise((resolve) => peer.child.once('exit', resolve));
  assert.throws(() => endpoint.read(new Uint8Array(8), 4096), /^RemoteError: shm read: read: peer process \d+ closed the endpoint/);
  context.destroy();
  assert.throws(() => endpoint.read(new Uint8Array(8), 4096), /the endpoint was destroyed/);
});

test('shm single copy: a read from a peer killed with SIGKILL is a RemoteError', async () => {
  const secret = newSecret();
  const fds = fdCount();
  const { peer, context, endpoint } = await pair(secret);
  const { address } = await peer.ask({ cmd: 'expose', offset: 0, length: 1 << 20, fill: 5 });
  peer.child.kill('SIGKILL');
  await new Promise((resolve) => peer.child.once('exit', resolve));
  assert.throws(() => endpoint.read(new Uint8Array(1 << 20), address), /^RemoteError: shm read: read: peer process \d+ died/);
  context.destroy();
  assert.equal(leftovers(secret), []);
  assert.is(fdCount(), fds);
});

test('shm: a stale segment of a crashed job is replaced; a live one is refused', async () => {
  const secret = newSecret();
  const peer = await startPeer();
  await peer.ask({ cmd: 'start', secret, label: '5-6' }); // created, never connected
  assert.is(leftovers(secret).length, 1);
  const context = new ShmContext(addon, secret);
  assert.throws(() => context.createEndpoint('5-6'), /is in use by live process/);
  peer.child.kill('SIGKILL');
  await new Promise((resolve) => peer.child.once('exit', resolve));
  const endpoint = context.createEndpoint('5-6'); // the dead owner's segment is replaced
  assert.ok(endpoint.address().includes(shmPrefix(secret)));
  context.destroy();
  assert.equal(leftovers(secret), []);
});

test('shm: an endpoint\'s inbox is resident from its creation (no page faults on the first pass of traffic)', () => {
  const context = new ShmContext(addon, newSecret());
  try {
    const endpoint = context.createEndpoint('0-1');
    const name = endpoint.address().split(' ')[0]!;
    // The segment's mapping in this process (smaps: a header line naming /dev/shm/NAME, then its fields).
    const smaps = readFileSync('/proc/self/smaps', 'utf8').split('\n');
    const at = smaps.findIndex((line) => line.endsWith(name) || line.includes(`${name} (deleted)`));
    assert.ok(at >= 0, `no mapping of ${name} in /proc/self/smaps`);
    const field = (key: string) => Number(/(\d+) kB/.exec(smaps.slice(at + 1, at + 30).find((line) => line.startsWith(`${key}:`)) ?? '')?.[1]);
    assert.ok(field('Size') >= 4096, `the inbox maps ${field('Size')} kB`);
    assert.ok(field('Rss') >= field('Size') - 4, `only ${field('Rss')} of the inbox's ${field('Size')} kB are resident after creation`);
  } finally {
    context.destroy();
  }
});

test('shm: a /dev/shm without room for a ring refuses the endpoint with a clear error (needs root: unshare -m, a 6 MiB tmpfs)', () => {
  const script = 'mount -t tmpfs -o size=6M tmpfs /dev/shm && exec "$0" --import ./test/register.mjs test/workers/shm-full.ts';
  const out = execFileSync('unshare', ['-m', 'sh', '-c', script, process.execPath], { encoding: 'utf8', timeout: 20_000 });
  const { first, second } = JSON.parse(out.trim().split('\n').pop()!) as { first: string; second: string };
  assert.is(first, 'created');
  assert.match(second, /no room for its 4\d{3} KiB ring in \/dev\/shm \(No space left on device\); a container needs a larger --shm-size/);
});

test('shm: thousands of calls with random arguments never crash the process', () => {
  const secret = newSecret();
  const context = new ShmContext(addon, secret);
  const key = context.registerMemory(new Uint8Array(4096));
  const endpoint = context.createEndpoint('fuzz');
  fuzzProvider(context, endpoint, key, ['/webccl-x 1'], [
    (a, b) => endpoint.read(a as Uint8Array, b as number),
    (a) => context.addressOf(a as Uint8Array),
    (a, b, c, d) => addon.reduceAccumulate(a as 'float32', b as 'sum', c as Uint8Array, d as Uint8Array),
    (a, b, c, d) => addon.finishAverage(a as 'float32', b as Uint8Array, c as Uint8Array, d as number),
    (a, b) => addon.memcpy(a as Uint8Array, b as Uint8Array),
  ]);
  context.destroy();
  assert.equal(leftovers(secret), []);
});

test.run();
