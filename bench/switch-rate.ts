// Switch aggregation rate: elements per second of int32 allreduce through `webccl switch` (its
// own process, one with the native data plane and one with the TypeScript one) at 2, 4 and 8
// workers (each in its own process), beside a raw UDP echo of the same packet size over loopback
// (an echo process, the same window of packets in flight), measured in the same run.
// Usage: node --import ./test/register.mjs bench/switch-rate.ts [elements] [sizeClass] [repeats] [columns] [workers] [dtype]
// columns: a comma list of native (native plane, native workers), dgram (native plane, dgram
// workers), js (TypeScript plane), tscodec (as native, but the workers quantize and copy
// values with the TypeScript codec instead of the addon's) and tsstream (as native, but the
// workers run the TypeScript stream instead of the socket's native one); default native, dgram and js.
// dtype: int32 (default), float32 (SwitchML quantization on the workers, exponents agreed in
// the stream: always the TypeScript stream) or float32-agreed (exponents agreed before the
// call, as the communicator does: the native stream takes it). Each cell also gives the
// workers' mean CPU time per call (process.cpuUsage: user + sys, every thread) and, on Linux, the
// switch process's CPU time per call ("sw", every thread's run time from /proc, the job's warm-up
// call and joins spread over its calls), and "cpu%": the echo's CPU time per element (both ends)
// as a % of the switch's plus its workers' (the rate's % where the cores are free; on a shared
// machine the rates follow the other jobs' load, this much less). SWITCH_RATE_DEBUG=1 prints each
// worker's counters (retransmissions, probes, window cuts) to stderr. workers: a comma list of
// worker counts, default 2,4,8.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import '../lib/switch/udp-link.js'; // workers reach the switch by UDP
import { SwitchWorker } from '../lib/switch/worker.js';
import { packetBytes, valuesOf } from '../lib/switch/packet.js';
import { switchmlBlockExponents, switchmlMergeExponents } from '../lib/cpu/switchml.js';

const elements = Number(process.argv[2] ?? 1 << 20);
const sizeClass = Number(process.argv[3] ?? 3);
const repeats = Number(process.argv[4] ?? 3);
const COLUMNS = {
  native: { header: 'native plane, native workers', plane: 'native', udpSocket: 'native', codec: 'auto' },
  dgram: { header: 'native plane, dgram workers', plane: 'native', udpSocket: 'dgram', codec: 'auto' },
  js: { header: 'TypeScript plane, dgram workers', plane: 'js', udpSocket: 'dgram', codec: 'auto' },
  tscodec: { header: 'native plane+workers, TS codec', plane: 'native', udpSocket: 'native', codec: 'typescript', stream: 'typescript' },
  tsstream: { header: 'native plane+workers, TS stream', plane: 'native', udpSocket: 'native', codec: 'auto', stream: 'typescript' },
} as const;
type Column = keyof typeof COLUMNS;
type Codec = 'auto' | 'typescript';
const workerArgs = process.argv.indexOf('--worker');
// A worker process gets the dtype after its other arguments (see switchRate).
const dtype = (workerArgs > 0 ? process.argv[workerArgs + 7] : process.argv[7]) ?? 'int32';
if (dtype !== 'int32' && dtype !== 'float32' && dtype !== 'float32-agreed') throw new Error(`bench/switch-rate.ts: dtype ${dtype} is not int32, float32 or float32-agreed`);
type Stream = 'auto' | 'typescript';
const WINDOW = 256;
const SECRET = 'a'.repeat(32);

/** The first match of `pattern` in the child's stdout; rejects when the child exits without one. */
function firstLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => { text += chunk; const m = pattern.exec(text); if (m) resolve(m[1]!); });
    child.once('exit', (code) => reject(new Error(`${child.spawnargs.slice(2, 4).join(' ')} exited (${code}) before printing ${pattern}`)));
  });
}

/**
 * Raw loopback: packets/s of a windowed echo, as elements/s at `values` per packet, and the CPU
 * time both ends spent per element echoed (cpuNs; undefined without /proc).
 */
async function echoRate(seconds: number): Promise<{ rate: number; cpuNs: number | undefined }> {
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
  const echoCpu = processCpuMs(echo.pid);
  const ownCpu = process.cpuUsage();
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
  const own = process.cpuUsage(ownCpu);
  const echoUsed = echoCpu === undefined ? undefined : processCpuMs(echo.pid)! - echoCpu;
  socket.close();
  echo.kill();
  const elements = received * valuesOf(sizeClass);
  return { rate: result * valuesOf(sizeClass), cpuNs: echoUsed === undefined ? undefined : ((own.user + own.system) * 1e3 + echoUsed * 1e6) / elements };
}

/** A process's CPU time so far in ms (every thread's run time, /proc's schedstat); undefined where /proc has none. */
function processCpuMs(pid: number | undefined): number | undefined {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

/** One worker of a timed job (in its own process, see the bottom): warm-up call, then `repeats` timed calls. */
async function runWorker(address: string, world: string, rank: number, size: number, udpSocket: 'native' | 'dgram', codec: Codec, stream: Stream): Promise<{ seconds: number; retransmitted: number; cpuMs: number }> {
  const worker = await SwitchWorker.connect({ switch: address, secret: SECRET, world, rank, size, window: WINDOW, sizeClass, timeoutMs: 60_000, udpSocket, codec, stream });
  const floats = (r: number) => Float32Array.from({ length: elements }, (_, i) => Math.sin(i + r));
  const data = dtype === 'int32' ? new Int32Array(elements).fill(rank + 1) : floats(rank);
  // float32-agreed: every rank's block exponents, merged here (the communicator agrees them over its link).
  let exponents: Int32Array | undefined;
  if (dtype === 'float32-agreed') {
    exponents = switchmlBlockExponents(floats(0), elements, valuesOf(sizeClass) / 2);
    for (let r = 1; r < size; r++) switchmlMergeExponents(exponents, switchmlBlockExponents(floats(r), elements, valuesOf(sizeClass) / 2));
  }
  const out = (data instanceof Float32Array ? new Float32Array(elements) : new Int32Array(elements)) as typeof data;
  const call = () => worker.allReduce(data, 'sum', { into: out, ...(exponents ? { exponents } : {}) });
  await call(); // warm-up
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < repeats; i++) await call();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  worker.close();
  if (process.env.SWITCH_RATE_DEBUG) console.error(JSON.stringify({ rank, ...worker.counters }));
  return { seconds, retransmitted: worker.counters.retransmitted, cpuMs: (used.user + used.system) / 1000 / repeats };
}

/**
 * A job of `workers` ranks, each in its own process (so that the ranks' JS does not share one
 * thread, as the ranks of a real job do not): the slowest rank's time is the job's.
 */
async function switchRate(workers: number, address: string, switchPid: number | undefined, udpSocket: 'native' | 'dgram', codec: Codec, stream: Stream): Promise<{ rate: number; retransmitted: number; cpuMs: number; switchMs: number | undefined }> {
  const switchBefore = processCpuMs(switchPid);
  const world = `bench-${workers}-${Date.now()}`;
  const results = await Promise.all(Array.from({ length: workers }, async (_, rank) => {
    const child = spawn(process.execPath, ['--import', './test/register.mjs', 'bench/switch-rate.ts', String(elements), String(sizeClass), String(repeats), '--worker', address, world, String(rank), String(workers), udpSocket, codec, dtype, stream], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(await firstLine(child, /^(\{.*\})$/m)) as { seconds: number; retransmitted: number; cpuMs: number };
  }));
  const seconds = Math.max(...results.map((r) => r.seconds));
  const cpuMs = results.reduce((sum, r) => sum + r.cpuMs, 0) / results.length;
  const switchAfter = processCpuMs(switchPid);
  const switchMs = switchBefore === undefined || switchAfter === undefined ? undefined : (switchAfter - switchBefore) / (repeats + 1);
  return { rate: (elements * repeats) / seconds, retransmitted: results.reduce((sum, r) => sum + r.retransmitted, 0), cpuMs, switchMs };
}

function startSwitch(plane: 'native' | 'js'): { child: ChildProcess; address: Promise<string> } {
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'bin/webccl.ts', 'switch', '--port', '0', '--data-plane', plane], {
    stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, WEBCCL_SECRET: SECRET },
  });
  return { child, address: firstLine(child, /switch (\S+)/) };
}

if (workerArgs > 0) {
  const [address, world, rank, size, udpSocket, codec] = process.argv.slice(workerArgs + 1);
  const stream = (process.argv[workerArgs + 8] ?? 'auto') as Stream;
  console.log(JSON.stringify(await runWorker(address!, world!, Number(rank), Number(size), udpSocket as 'native' | 'dgram', codec as Codec, stream)));
  process.exit(0);
}

const columnArg = process.argv[5] ?? 'native,dgram,js';
const columns = columnArg.split(',') as Column[];
for (const c of columns) if (!(c in COLUMNS)) throw new Error(`bench/switch-rate.ts: unknown column ${c} (native, dgram, js, tscodec or tsstream)`);
const wanted = new Set(columns.map((c) => COLUMNS[c].plane));
const planes = Object.fromEntries([...wanted].map((plane) => [plane, startSwitch(plane)])) as Record<'native' | 'js', ReturnType<typeof startSwitch>>;
const addresses = Object.fromEntries(await Promise.all([...wanted].map(async (plane) => [plane, await planes[plane].address]))) as Record<'native' | 'js', string>;
const M = (rate: number) => `${(rate / 1e6).toFixed(2)} M`;
console.log(`# ${elements} ${dtype} elements per call, ${valuesOf(sizeClass)} values a packet (${packetBytes(sizeClass)} B), window ${WINDOW}, ${repeats} calls; ${process.platform} ${(await import('node:os')).cpus().length} cores`);
console.log('# SwitchML on a Tofino: ~2800 M elements/s. Each row measures the raw UDP echo of the same packet size again (the machine is shared), and');
console.log('# each cell is elements/s, % of that echo, retransmissions, the workers\' mean CPU ms per call, the switch\'s (sw) and the echo\'s CPU per element as a % of the switch\'s and its workers\' (cpu%); workers use the addon\'s batched socket (native) or Node\'s dgram.');
console.log(`${'workers'.padEnd(8)}${'raw echo'.padEnd(12)}${columns.map((c) => COLUMNS[c].header.padEnd(48)).join('')}`);
for (const n of (process.argv[6] ?? '2,4,8').split(',').map(Number)) {
  const { rate: raw, cpuNs: echoNs } = await echoRate(2);
  const cells: string[] = [];
  for (const c of columns) {
    const column = COLUMNS[c];
    const { rate, retransmitted, cpuMs, switchMs } = await switchRate(n, addresses[column.plane], planes[column.plane].child.pid, column.udpSocket, column.codec, 'stream' in column ? column.stream : 'auto');
    // The echo's CPU per element against the switch's and its n workers' (cpu%): the same ratio
    // as the rates' where both had the cores to themselves, and steadier on a shared machine.
    const switchNs = switchMs === undefined ? undefined : ((cpuMs * n + switchMs) * 1e6) / elements;
    const cpuRatio = echoNs === undefined || switchNs === undefined ? '' : ` cpu% ${(100 * echoNs / switchNs).toFixed(0)}`;
    cells.push(`${M(rate)} ${(100 * rate / raw).toFixed(0)}% ${retransmitted} ${cpuMs.toFixed(1)}ms${switchMs === undefined ? '' : ` sw ${switchMs.toFixed(1)}ms`}${cpuRatio}`.padEnd(48));
  }
  console.log(`${String(n).padEnd(8)}${M(raw).padEnd(12)}${cells.join('')}`);
}
for (const plane of wanted) {
  const { child } = planes[plane];
  // SWITCH_RATE_DEBUG: the switch's closing counters (datagrams, GSO messages, GRO buffers).
  if (process.env.SWITCH_RATE_DEBUG) child.stdout!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  child.kill('SIGINT');
}
