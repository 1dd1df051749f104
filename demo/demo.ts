// The browser demo's page script (bundled by build.mjs into dist/demo/demo.js, served by
// demo/serve.ts): join as the next rank, then allReduce a float32 GPUBuffer in a loop, checking
// every element and showing the time per call. URL parameters: size (ranks, default 2), count
// (elements, default 2^18), interval (ms between calls, default 100: the demo should not eat the CPU).
import { Communicator, connectRelay, createBrowserDevice, readRegion, region, writeRegion } from '../lib/index.browser.js';
import { takeSeat } from './join.js';
import { show } from './view.js';

const JOIN_TIMEOUT_MS = 10 * 60_000; // people open the other tabs by hand

function parameter(name: string, fallback: number): number {
  const value = Number(new URLSearchParams(location.search).get(name) ?? fallback);
  if (!Number.isInteger(value) || value < 0) throw new Error(`URL parameter ${name}=${value} is not a whole number`);
  return value;
}

async function main(): Promise<void> {
  const size = Math.max(1, parameter('size', 2));
  const count = Math.max(1, parameter('count', 1 << 18));
  const interval = parameter('interval', 100);

  const seat = await takeSeat(size, JOIN_TIMEOUT_MS);
  show('rank', `${seat.rank} of ${size}`);
  document.title = `webccl rank ${seat.rank}/${size}`;
  const device = await createBrowserDevice();
  const info = device.adapterInfo;
  show('adapter', [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown');
  show('status', size > 1 ? `waiting for all ${size} tabs to open this page` : 'connecting');

  const transport = await connectRelay({ id: seat.id, rank: seat.rank, size, world: seat.world, timeoutMs: JOIN_TIMEOUT_MS });
  const comm = await Communicator.init({ rank: seat.rank, size, device, transport });
  show('status', `running in world ${seat.world}`);

  // Rank r contributes r + 1 everywhere, so every element of the sum is 1 + 2 + ... + size.
  const bytes = count * 4;
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const send = device.createBuffer({ size: bytes, usage });
  const recv = device.createBuffer({ size: bytes, usage });
  writeRegion(device, region(send), new Uint8Array(new Float32Array(count).fill(seat.rank + 1).buffer));
  const expected = (size * (size + 1)) / 2;
  show('count', `${count.toLocaleString('en')} float32 (${(bytes / 2 ** 20).toFixed(2)} MiB)`);

  let total = 0;
  for (let calls = 1; ; calls++) {
    const start = performance.now();
    await comm.allReduce(send, recv, count, 'float32', 'sum');
    const ms = performance.now() - start;
    total += ms;
    const result = new Float32Array((await readRegion(device, region(recv), bytes)).slice().buffer);
    const wrong = result.reduce((n, v) => (v === expected ? n : n + 1), 0);
    show('calls', String(calls));
    show('time', `${ms.toFixed(2)} ms (mean ${(total / calls).toFixed(2)} ms)`);
    // nccl-tests' bus bandwidth for allreduce: algbw * 2(n-1)/n.
    show('busbw', `${((bytes / (ms / 1000)) * (2 * (size - 1)) / size / 1e9).toFixed(3)} GB/s`);
    show('result', `[${result.subarray(0, 4).join(', ')}${count > 4 ? ', …' : ''}]`);
    show('check', wrong === 0 ? `all ${count} elements = ${expected}` : `${wrong} elements differ from ${expected}`, wrong === 0 ? 'ok' : 'bad');
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

main().catch((error: Error) => {
  show('status', error.message, 'bad');
  console.error(error);
});
