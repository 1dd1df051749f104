// Raw transport numbers for two ranks, below the collectives: one-way throughput each way
// (dialler -> acceptor and back) and ping-pong latency of small messages. Isolates the websocket
// data path from the collective schedules when the transport is being tuned. Each rank also
// prints the CPU time its process (every thread) spent per GiB moved one way, as sender and as
// receiver: unlike wall time it hardly depends on what else loads the machine (copies cost CPU).
//
//   node --import ./test/register.mjs bench/mesh-throughput.ts            (self-launches 2 ranks)
//   MESH_BYTES=4194304 MESH_MESSAGES=64 MESH_PINGS=2000 MESH_RELEASE=1 ... (optional knobs)
import { Communicator } from '../lib/index.node.js';
import { signature } from '../lib/comm/signature.js';
import type { Header, Transport } from '../lib/transport/transport.js';
import { runAsTwoRanks } from './two-ranks.js';

/** A channel no communicator uses, so raw messages cannot be mistaken for collective ones. */
const RAW_CHANNEL = 0x7fff0000;
const knob = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
/** Give received payloads back to the transport, as the collectives do (MESH_RELEASE=0: keep them, each message then costs a fresh buffer). */
const releaseMessages = knob('MESH_RELEASE', 1) !== 0;

function header(seq: number, bytes: number): Header {
  return { comm: RAW_CHANNEL, seq, signature: signature('send', bytes, 'uint32'), chunk: 0 };
}

/** CPU milliseconds of this process per GiB, in each one-way run it sent or received. */
const cpuMsPerGiB = { send: [] as number[], recv: [] as number[] };

/** `from` sends `messages` messages of `bytes` to `to` with a window of 4 sends in flight. */
async function oneWay(t: Transport, from: number, to: number, seq: number, bytes: number, messages: number): Promise<number> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  if (t.rank === from) {
    const payload = new Uint8Array(bytes);
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < messages; i++) {
      inFlight.push(t.send(to, header(seq, bytes), payload));
      if (inFlight.length >= 4) await inFlight.shift();
    }
    await Promise.all(inFlight);
    await t.recv(to, RAW_CHANNEL, seq); // the receiver's acknowledgement
  } else {
    for (let i = 0; i < messages; i++) {
      const message = await t.recv(from, RAW_CHANNEL, seq);
      if (releaseMessages) message.release?.();
    }
    await t.send(from, header(seq, 0), new Uint8Array(0));
  }
  const used = process.cpuUsage(cpu);
  cpuMsPerGiB[t.rank === from ? 'send' : 'recv'].push((used.user + used.system) / 1000 / ((bytes * messages) / 2 ** 30));
  return (bytes * messages) / ((performance.now() - started) / 1000) / 2 ** 30;
}

async function pingPong(t: Transport, seq: number, bytes: number, rounds: number): Promise<number> {
  const peer = 1 - t.rank;
  const payload = new Uint8Array(bytes);
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    if (t.rank === 0) {
      await t.send(peer, header(seq, bytes), payload);
      await t.recv(peer, RAW_CHANNEL, seq);
    } else {
      await t.recv(peer, RAW_CHANNEL, seq);
      await t.send(peer, header(seq, bytes), payload);
    }
  }
  return ((performance.now() - started) * 1000) / rounds / 2;
}

async function rank(): Promise<void> {
  const comm = await Communicator.fromEnv();
  const t = comm.transport;
  const bytes = knob('MESH_BYTES', 4 << 20);
  const messages = knob('MESH_MESSAGES', 64);
  const pings = knob('MESH_PINGS', 2000);
  await oneWay(t, 1, 0, 1, bytes, 4); // warm-up
  cpuMsPerGiB.send.length = cpuMsPerGiB.recv.length = 0;
  const up = await oneWay(t, 1, 0, 2, bytes, messages);
  const down = await oneWay(t, 0, 1, 3, bytes, messages);
  await pingPong(t, 4, 8, 100);
  const latency = await pingPong(t, 5, 8, pings);
  if (t.rank === 0) {
    console.log(`# ${t.description}, ${bytes} B messages x ${messages}`);
    console.log(`dialler -> acceptor ${up.toFixed(3)} GiB/s, acceptor -> dialler ${down.toFixed(3)} GiB/s, 8 B one-way ${latency.toFixed(1)} us`);
  }
  const cpu = (runs: number[]) => (runs.reduce((sum, x) => sum + x, 0) / runs.length).toFixed(0);
  console.log(`rank ${t.rank} CPU per GiB one way: sending ${cpu(cpuMsPerGiB.send)} ms, receiving ${cpu(cpuMsPerGiB.recv)} ms`);
  await comm.destroy();
}

await runAsTwoRanks(rank);
