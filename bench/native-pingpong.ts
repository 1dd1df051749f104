// One-way latency of 8-byte messages through the native provider alone (shm or tcp), no framed
// transport and no communicator: two processes (this one and a fork of it) each hold a context
// and an endpoint and ping-pong `PINGS` rounds (a receive is posted before each send). Separates
// the provider's wakeup cost (futex or socket -> progress thread -> threadsafe function -> JS)
// from the layers above it.
//   node --import ./test/register.mjs bench/native-pingpong.ts [shm|tcp]     (PINGS=5000)
import { fork } from 'node:child_process';
import { loadNative } from '../lib/native/load.js';
import { ShmContext, type NativeProvider } from '../lib/native/shm.js';

const kind = (process.argv[2] ?? process.env['PINGPONG_KIND'] ?? 'shm') as 'shm' | 'tcp';
const provider: NativeProvider = kind === 'tcp' ? { kind: 'tcp' } : { kind: 'shm' };
const rounds = Number(process.env['PINGS'] ?? 5000);
const secret = process.env['PINGPONG_SECRET'] ?? `native-pingpong-secret-${process.pid}`;

const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(loaded.unavailable);
const context = new ShmContext(loaded.addon, secret, provider);
const region = new Uint8Array(64);
const key = context.registerMemory(region);
const child = process.send !== undefined;
const endpoint = context.createEndpoint(child ? '1-0' : '0-1');


if (child) {
  process.on('message', async (message: any) => {
    if (message.connect) { endpoint.connect(message.connect, 10_000); process.send!({ address: endpoint.address() }); return; }
    // Each round: receive a ping, send a pong.
    for (let i = 0; i < message.rounds; i++) { await endpoint.recv(key, 32, 8); await endpoint.send(key, 0, 8); }
    process.send!({ done: true });
  });
  process.send!({ ready: true });
} else {
  const peer = fork(process.argv[1]!, [kind], { execArgv: process.execArgv, env: { ...process.env, PINGPONG_SECRET: secret }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<any>((resolve) => peer.once('message', resolve));
  await next();
  peer.send({ connect: endpoint.address() });
  endpoint.connect((await next()).address, 10_000);
  for (const [label, count] of [['warm-up', 500], ['measured', rounds]] as const) {
    const done = next();
    peer.send({ rounds: count });
    const started = performance.now();
    for (let i = 0; i < count; i++) { const pong = endpoint.recv(key, 32, 8); await endpoint.send(key, 0, 8); await pong; }
    const us = ((performance.now() - started) * 1000) / count / 2;
    await done;
    if (label === 'measured') console.log(`native ${kind} 8 B one-way ${us.toFixed(1)} us (${count} round trips)`);
  }
  peer.kill();
  context.destroy();
}
