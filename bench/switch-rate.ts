// Switch aggregation rate: elements per second of int32 allreduce through `webccl switch` (its
// own process) at 2, 4 and 8 workers (all in this process), beside a raw UDP echo of the same
// packet size over loopback (an echo process, the same window of packets in flight), measured
// in the same run. Usage: node --import ./test/register.mjs bench/switch-rate.ts [elements] [sizeClass]
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import '../lib/switch/udp-link.js'; // workers reach the switch by UDP
import { SwitchWorker } from '../lib/switch/worker.js';
import { packetBytes, valuesOf } from '../lib/switch/packet.js';

const elements = Number(process.argv[2] ?? 1 << 20);
const sizeClass = Number(process.argv[3] ?? 3);
const WINDOW = 256;
const SECRET = 'a'.repeat(32);

function firstLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => { text += chunk; const m = pattern.exec(text); if (m) resolve(m[1]!); });
  });
}

/** Raw loopback: packets/s of a windowed echo, as elements/s at `values` per packet. */
async function echoRate(seconds: number): Promise<number> {
  const echo = spawn(process.execPath, ['-e', `
    const s = require('node:dgram').createSocket('udp4');
    s.on('message', (m, r) => s.send(m, r.port, r.address));
    s.bind(0, '127.0.0.1', () => { s.setRecvBufferSize(4 << 20); s.setSendBufferSize(4 << 20); console.log('port ' + s.address().port); });`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number(await firstLine(echo, /port (\d+)/));
  const socket = createSocket('udp4');
  await new Promise<void>((done) => socket.bind(0, '127.0.0.1', done));
  socket.setRecvBufferSize(4 << 20);
  socket.connect(port, '127.0.0.1');
  await new Promise((done) => socket.once('connect', done));
  const packet = new Uint8Array(packetBytes(sizeClass));
  let received = 0;
  let inFlight = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const result = await new Promise<number>((resolve) => {
    const refill = () => { while (inFlight < WINDOW) { inFlight++; socket.send(packet); } };
    // Lost echoes would shrink the window for good: top it up from a timer too.
    const timer = setInterval(() => { inFlight = Math.min(inFlight, WINDOW / 2); refill(); }, 20);
    socket.on('message', () => {
      received++;
      inFlight--;
      if (performance.now() > deadline) { clearInterval(timer); resolve(received / ((performance.now() - started) / 1000)); return; }
      refill();
    });
    refill();
  });
  socket.close();
  echo.kill();
  return result * valuesOf(sizeClass);
}

async function switchRate(workers: number, address: string, repeats: number): Promise<{ rate: number; retransmitted: number }> {
  const world = `bench-${workers}-${Date.now()}`;
  const all = await Promise.all(Array.from({ length: workers }, (_, rank) =>
    SwitchWorker.connect({ switch: address, secret: SECRET, world, rank, size: workers, window: WINDOW, sizeClass, timeoutMs: 60_000 })));
  const data = all.map((_, r) => new Int32Array(elements).fill(r + 1));
  await Promise.all(all.map((w, r) => w.allReduce(data[r]!))); // warm-up
  const started = performance.now();
  for (let i = 0; i < repeats; i++) await Promise.all(all.map((w, r) => w.allReduce(data[r]!)));
  const seconds = (performance.now() - started) / 1000;
  const retransmitted = all.reduce((sum, w) => sum + w.counters.retransmitted, 0);
  for (const w of all) w.close();
  return { rate: (elements * repeats) / seconds, retransmitted };
}

const sw = spawn(process.execPath, ['--import', './test/register.mjs', 'bin/webccl.ts', 'switch', '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, WEBCCL_SECRET: SECRET },
});
const address = await firstLine(sw, /switch (\S+)/);
const raw = await echoRate(2);
console.log(`# ${elements} int32 elements per call, ${valuesOf(sizeClass)} values a packet (${packetBytes(sizeClass)} B), window ${WINDOW}; ${process.platform} ${(await import('node:os')).cpus().length} cores`);
console.log(`raw UDP echo loopback: ${(raw / 1e6).toFixed(2)} M elements/s (${(raw / valuesOf(sizeClass) / 1e3).toFixed(1)} k packets/s)`);
for (const n of [2, 4, 8]) {
  const { rate, retransmitted } = await switchRate(n, address, 3);
  console.log(`switch, ${n} workers: ${(rate / 1e6).toFixed(2)} M elements/s = ${(100 * rate / raw).toFixed(0)}% of raw echo (${retransmitted} retransmissions); SwitchML on a Tofino: ~2800 M elements/s`);
}
sw.kill('SIGINT');
