// The switch's WebSocket door: workers that send SwitchML packets as binary WebSocket messages
// share a job's data plane with UDP workers; garbage frames on the door are dropped and
// counted while the job stays exact; a caller without the secret is refused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { SwitchWorker } from '../lib/switch/worker.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import type { WebSocketConstructor, WebSocketLike } from '../lib/transport/handshake/web-socket-like.js';
import { float32Violation, int32Sum, joinJob, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { rejection, within } from './within.js';
import { PLANES } from './helpers/switch-planes.js';

for (const dataPlane of PLANES) {
  const test = suite(`${dataPlane} data plane`);
  // Started in before(), not awaited here: an await between two suites' run() lets uvu start
  // printing totals for the first before the second is queued (two totals, one miscounted).
  let server!: SwitchServer;
  let url!: string;
  test.before(async () => {
    server = await SwitchServer.start({ dataPlane, port: 0, webSocketPort: 0 });
    url = server.webSocketUrl!;
  });

  /** nodeWebSocket(), keeping every socket it opens so that a test can send on a worker's own. */
  function spyWebSocket(opened: WebSocketLike[]): WebSocketConstructor {
    const Base = nodeWebSocket() as unknown as new (url: string) => WebSocketLike;
    return class extends Base {
      constructor(address: string) {
        super(address);
        opened.push(this);
      }
    } as unknown as WebSocketConstructor;
  }

  /** Ranks 0 and 1 over WebSocket, rank 2 over UDP. */
  function mixed(opened: WebSocketLike[] = []) {
    const WebSocket = spyWebSocket(opened);
    return (rank: number) => (rank < 2 ? { via: 'websocket' as const, switch: url, webSocket: WebSocket } : {});
  }

  function jobCounters(workers: SwitchWorker[]) {
    return server.counters().jobs.find((job) => job.job === workers[0]!.welcome.job && job.running)!;
  }

  test('a job of 2 WebSocket workers and 1 UDP worker: int32 exact, float32 within the bound, avg', async () => {
    const workers = await joinJob(server, 3, mixed());
    try {
      for (const count of [1, 64, 1001, 70_000]) {
        const ints = workers.map((_, r) => randomInt32(count, 31 * r + count));
        const got = await within(Promise.all(workers.map((w, r) => w.allReduce(ints[r]!))), 30_000, `int32 ${count}`);
        for (const g of got) assert.equal(g, int32Sum(ints), `int32 ${count}`);
        const floats = workers.map((_, r) => randomFloat32(count, 17 * r + count));
        const fgot = await within(Promise.all(workers.map((w, r) => w.allReduce(floats[r]!))), 30_000, `float32 ${count}`);
        for (const g of fgot) {
          assert.is(float32Violation(floats, g, 64), undefined, `float32 ${count}`);
          assert.equal(g, fgot[0], 'every rank ends with the same bits');
        }
      }
      const floats = workers.map((_, r) => randomFloat32(500, r + 90));
      const avg = await within(Promise.all(workers.map((w, r) => w.allReduce(floats[r]!, 'avg'))), 10_000, 'avg');
      for (const g of avg) assert.is(float32Violation(floats, g, 64, 3), undefined);
      assert.ok(server.counters().webSocketMessages > 0, 'packets came by WebSocket');
      assert.ok(workers.every((w) => w.counters.results > 0));
    } finally {
      for (const w of workers) w.close();
    }
  });

  test('garbage binary and text frames from an admitted WebSocket worker mid-job: dropped, counted, the job exact', async () => {
    const opened: WebSocketLike[] = [];
    const workers = await joinJob(server, 3, mixed(opened));
    try {
      const ints = workers.map((_, r) => randomInt32(50_000, r + 500));
      const calls = Promise.all(workers.map((w, r) => w.allReduce(ints[r]!)));
      // None of these can decode as a packet: too short for a header, a size class with the
      // wrong length, or text.
      const garbage: Array<string | Uint8Array> = [new Uint8Array(0), new Uint8Array([1]), new Uint8Array(9).fill(0xff), new Uint8Array(10 + 4 * 64 + 3), 'garbage', '{"t":"hello"}'];
      for (let i = 0; i < 100; i++) for (const socket of opened) socket.send(garbage[i % garbage.length]!);
      const got = await within(calls, 30_000, 'job under garbage');
      for (const g of got) assert.equal(g, int32Sum(ints));
      const job = jobCounters(workers);
      assert.ok(job.malformed >= 200, `malformed ${job.malformed}`);
      // The job still works after the garbage.
      const again = await within(Promise.all(workers.map((w, r) => w.allReduce(ints[r]!.subarray(0, 999)))), 10_000, 'after');
      for (const g of again) assert.equal(g, int32Sum(ints.map((i) => i.subarray(0, 999))));
    } finally {
      for (const w of workers) w.close();
    }
  });

  /** Opens a raw WebSocket to the door, sends `first`, and resolves with how the switch closed it. */
  async function rawClose(first: string | Uint8Array | undefined): Promise<{ code: number; reason: string }> {
    const socket = new WebSocket(url);
    socket.on('error', () => {});
    await within(new Promise((done) => socket.once('open', done)), 5000, 'raw open');
    if (first !== undefined) socket.send(first);
    return within(new Promise((done) => socket.once('close', (code, reason) => done({ code, reason: String(reason) }))), 10_000, 'raw close');
  }

  test('strangers on the door: wrong secret, binary or garbage before the hello, a UDP join, too many bytes: refused and counted', async () => {
    const before = server.counters().refusedConnections;
    const error = await rejection(
      SwitchWorker.connect({ via: 'websocket', switch: url, webSocket: nodeWebSocket(), secret: '0'.repeat(32), world: 'stranger', rank: 0, size: 1, timeoutMs: 5000 }),
      10_000, 'wrong secret');
    assert.match(error.message, /refused rank 0 of job 'stranger' \(4401: wrong secret/);
    const join = { t: 'hello', role: 'switch', secret: server.secret, world: 'raw', rank: 0, size: 1, window: 8, sizeClass: 1 };
    assert.equal((await rawClose(new Uint8Array(10 + 4 * 64))).code, 4400, 'a packet before the hello');
    assert.equal((await rawClose('not json')).code, 4400, 'text garbage');
    const udpJoin = await rawClose(JSON.stringify({ ...join, udpPort: 4000 }));
    assert.equal(udpJoin.code, 4400);
    assert.match(udpJoin.reason, /via: 'websocket'/);
    assert.equal((await rawClose(JSON.stringify({ ...join, via: 'websocket', size: 33 }))).code, 4400, 'a job that does not fit');
    const flood = await rawClose(new Uint8Array(64 * 1024));
    assert.ok(flood.code === 1006 || flood.code === 1009, `flood closed with ${flood.code}`);
    assert.ok(server.counters().refusedConnections >= before + 5, 'refusals counted');
    // The switch still serves.
    const workers = await joinJob(server, 3, mixed());
    try {
      const got = await within(Promise.all(workers.map((w) => w.allReduce(new Int32Array([1, 2, 3])))), 10_000, 'after strangers');
      for (const g of got) assert.equal(Array.from(g), [3, 6, 9]);
    } finally {
      for (const w of workers) w.close();
    }
  });

  test('a WebSocket worker that leaves ends the job for the UDP and WebSocket workers', async () => {
    const workers = await joinJob(server, 3, mixed());
    workers[0]!.close();
    const errors = await Promise.all(workers.slice(1).map((w) => rejection(w.allReduce(new Int32Array(100_000)), 10_000, 'after a leaver')));
    for (const e of errors) assert.match(e.message, /worker 0 of job .* left|control connection closed/);
    for (const w of workers) w.close();
  });

  test.after(() => server.close());
  test.run();
}
