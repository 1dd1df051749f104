// A rank 0 that listens on every port a Node job opens, for the tests that attack those ports
// from outside (memory under strangers, fuzz): it hosts the rendezvous server, as rank 0 does
// under torchrun, and starts a websocket and a tcp communicator of 2 ranks through it, whose
// mesh listeners wait for rank 1 (the test) while the attack runs. JSON lines on stdout:
//   {event:'listening', id, tcpId}                 the ids rank 1 joins with
//   {event:'memory', rss, heapUsed, external, arrayBuffers}   answer to 'memory' on stdin (after a full GC)
//   {event:'reduced', transport, wrong}            each world's allreduce once rank 1 joined (wrong: first bad index or -1)
// Run with --expose-gc. Usage: listener-host.ts <timeoutMs for rank 1 to join>
import { createInterface } from 'node:readline';
import { Communicator } from '../../lib/index.node.js';
import { RendezvousServer } from '../../lib/rendezvous/rendezvous-server.js';
import { formatUniqueId, parseUniqueId } from '../../lib/rendezvous/unique-id.js';

const timeoutMs = Number(process.argv[2] ?? 60_000);
const report = (event: Record<string, unknown>) => console.log(JSON.stringify(event));
// Never outlive a test that forgot us.
setTimeout(() => { report({ event: 'expired' }); process.exit(3); }, timeoutMs + 30_000).unref();

const server = await RendezvousServer.start({ host: '127.0.0.1' });
const tcpId = formatUniqueId({ ...parseUniqueId(server.id), transport: 'tcp' });

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'memory') {
    (globalThis as { gc?: () => void }).gc?.();
    report({ event: 'memory', ...process.memoryUsage() });
  }
}).on('close', () => process.exit(0));

async function reduceOnce(id: string): Promise<void> {
  const comm = await Communicator.init({ id, rank: 0, size: 2, timeoutMs });
  const count = 1001;
  const data = Float32Array.from({ length: count }, (_, i) => 1 + (i % 7));
  await comm.allReduce(data, data, count, 'float32', 'sum');
  report({ event: 'reduced', transport: comm.transport.description.startsWith('tcp') ? 'tcp' : 'websocket', wrong: data.findIndex((value, i) => value !== 3 + 2 * (i % 7)) });
  await comm.destroy();
}

const worlds = [server.id, tcpId].map((id) => reduceOnce(id).catch((error: Error) => report({ event: 'failed', message: error.message })));
report({ event: 'listening', id: server.id, tcpId });
await Promise.all(worlds);
