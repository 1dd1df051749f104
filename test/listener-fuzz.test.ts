// Fuzz: random and truncated bytes at every port the library listens on, from strangers and
// from admitted store and relay sessions: a rank 0's rendezvous server (its root path and the
// relay's own, RELAY_PATH), its websocket mesh listener and its tcp mesh listener
// (test/workers/listener-host.ts), and `webccl serve`'s store and relay (both paths). Afterwards no process has exited, their memory has stayed bounded, and a
// correct job runs on the same ports and ids: rank 0's websocket and tcp allreduce with the
// test as rank 1, and the serve's store and a relay world.
//
// Inputs come from a seeded PRNG; the seed is printed, and WEBCCL_FUZZ_SEED=N replays a run.
// WEBCCL_FUZZ_INPUTS sets how many (default 5000).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { RELAY_PATH } from '../lib/rendezvous/relay-notice.js';
import { fuzzInput, seededRandom, type FuzzInput, type FuzzTarget, type Random } from './helpers/fuzz-inputs.js';
import { ListenerHost } from './helpers/listener-host.js';
import { OPCODE, upgradeRequest, wsFrame } from './helpers/raw-web-socket.js';
import { relayStillWorks, storeStillWorks } from './helpers/rendezvous-checks.js';
import { startServe } from './helpers/serve-process.js';

const seed = Number(process.env['WEBCCL_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 32));
const INPUTS = Number(process.env['WEBCCL_FUZZ_INPUTS'] ?? 5000);
const IN_FLIGHT = 16;
const MiB = 1 << 20;

// Our own sockets must not be what dies.
const uncaught: Error[] = [];
process.on('uncaughtException', (error) => uncaught.push(error));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How far an input got: bytes sent after a welcome, after another answer to a hello, after an upgrade, raw, or not at all. */
type Outcome = 'welcomed' | 'answered' | 'upgraded' | 'raw' | 'cut short';

/** One stranger: connect, upgrade and say hello as the input says, send its bytes, hang up. */
async function play(target: FuzzTarget, input: FuzzInput): Promise<Outcome> {
  const socket = connect({ host: target.host, port: target.port });
  socket.on('error', () => {});
  let received = Buffer.alloc(0);
  let wake = () => {};
  socket.on('data', (chunk: Buffer) => {
    if (received.length < 65536) received = Buffer.concat([received, chunk]);
    wake();
  });
  socket.once('connect', () => wake());
  let closed = false;
  socket.once('close', () => {
    closed = true;
    wake();
  });
  /** Waits (briefly) until `ready` or the connection is gone; says whether it is still open. */
  const until = async (ready: () => boolean, ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (!closed && !ready() && Date.now() < deadline) {
      await Promise.race([new Promise<void>((resolve) => { wake = resolve; }), sleep(deadline - Date.now())]);
    }
    return !closed;
  };
  try {
    let outcome: Outcome = 'raw';
    if (!await until(() => socket.readyState === 'open', 3000)) return 'cut short';
    if (input.upgrade) {
      socket.write(upgradeRequest(target.host, target.port, target.path));
      if (!await until(() => received.includes('\r\n\r\n'), 3000) || !received.subarray(0, 12).toString().startsWith('HTTP/1.1 101')) return 'cut short';
      received = received.subarray(received.indexOf('\r\n\r\n') + 4);
      outcome = 'upgraded';
    }
    if (input.hello) {
      socket.write(wsFrame({ opcode: OPCODE.text, payload: Buffer.from(JSON.stringify(input.hello)) }));
      // A refusal may end the connection right after its close frame: that still counts as answered.
      await until(() => received.length > 0, 2000);
      if (received.length === 0) return 'cut short';
      outcome = received.includes('welcome') ? 'welcomed' : 'answered';
    }
    socket.end(input.bytes);
    await until(() => false, 150);
    return outcome;
  } finally {
    socket.destroy();
  }
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

test('every listening port survives random and truncated bytes; memory stays bounded; a correct job runs afterwards', async () => {
  console.log(`# fuzz seed ${seed} (replay with WEBCCL_FUZZ_SEED=${seed}), ${INPUTS} inputs`);
  const host = await ListenerHost.start(90_000);
  const serve = await startServe();
  try {
    const hostSecret = parseUniqueId(host.id).secret;
    const serveAt = parseUniqueId(serve.id);
    const relayHello = (random: Random) => {
      const size = 1 + Math.floor(random() * 3);
      return { t: 'hello', secret: serveAt.secret, role: 'relay', world: `fuzz-${Math.floor(random() * 4)}`, rank: Math.floor(random() * size), size };
    };
    const targets: (FuzzTarget & { name: string })[] = [
      {
        name: 'rank 0 rendezvous', kind: 'websocket', secret: hostSecret, ...host.rendezvous,
        admittedHello: (random) => (random() < 0.5 ? { t: 'hello', secret: hostSecret, role: 'store' } : { ...relayHello(random), secret: hostSecret }),
      },
      { name: 'rank 0 websocket mesh', kind: 'websocket', secret: hostSecret, ...host.wsMesh },
      { name: 'rank 0 tcp mesh', kind: 'tcp', secret: hostSecret, ...host.tcpMesh },
      { name: 'webccl serve', kind: 'websocket', secret: serveAt.secret, host: serveAt.host, port: serveAt.port, admittedHello: () => ({ t: 'hello', secret: serveAt.secret, role: 'store' }) },
      { name: 'webccl serve relay', kind: 'websocket', secret: serveAt.secret, host: serveAt.host, port: serveAt.port, admittedHello: relayHello, admittedShare: 0.8 },
      // The relay's own reader (lib/rendezvous/relay-stream.ts), where relay clients dial.
      {
        name: 'rank 0 relay path', kind: 'websocket', secret: hostSecret, ...host.rendezvous, path: RELAY_PATH,
        admittedHello: (random) => ({ ...relayHello(random), secret: hostSecret }), admittedShare: 0.6,
      },
      { name: 'webccl serve relay path', kind: 'websocket', secret: serveAt.secret, host: serveAt.host, port: serveAt.port, path: RELAY_PATH, admittedHello: relayHello, admittedShare: 0.8 },
    ];
    const hostBefore = await host.memory();
    const serveBefore = rssOf(serve.child.pid!);

    const random = seededRandom(seed);
    let next = 0;
    const started = Date.now();
    const outcomes = new Map<string, number>();
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < INPUTS) {
        const target = targets[next++ % targets.length]!;
        // Drawn in dispatch order, so a seed gives the same inputs whatever the timing.
        const input = fuzzInput(random, target);
        const key = `${target.name}: ${await play(target, input)}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
    }));
    const seconds = (Date.now() - started) / 1000;
    console.log(`# ${INPUTS} inputs in ${seconds.toFixed(1)} s: ${[...outcomes].sort().map(([key, count]) => `${key} ${count}`).join(', ')}`);

    host.assertAlive();
    serve.assertAlive();
    assert.equal(uncaught.map((error) => error.message), []);
    // Let closing connections finish before measuring.
    await sleep(500);
    const hostAfter = await host.memory();
    const serveAfter = rssOf(serve.child.pid!);
    console.log(`# memory: rank 0 rss ${(hostBefore.rss / MiB).toFixed(1)} -> ${(hostAfter.rss / MiB).toFixed(1)} MiB, arrayBuffers +${((hostAfter.arrayBuffers - hostBefore.arrayBuffers) / MiB).toFixed(1)} MiB; `
      + `webccl serve rss ${(serveBefore / MiB).toFixed(1)} -> ${(serveAfter / MiB).toFixed(1)} MiB`);
    assert.ok(hostAfter.rss - hostBefore.rss < 128 * MiB, 'rank 0 rss growth');
    assert.ok(hostAfter.arrayBuffers - hostBefore.arrayBuffers < 32 * MiB, 'rank 0 arrayBuffers growth');
    assert.ok(serveAfter - serveBefore < 128 * MiB, 'webccl serve rss growth');

    await host.runJob();
    await storeStillWorks(serve.id);
    await relayStillWorks(serve.id);
    host.assertAlive();
    serve.assertAlive();
  } finally {
    await host.stop();
    await serve.stop();
  }
});

test.run();
