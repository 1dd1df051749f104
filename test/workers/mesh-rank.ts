// One rank of a mesh (websocket or tcp, as the id's scheme says) in its own process, for the
// multi-process tests. Reports what happens as JSON lines on stdout.
// Usage: mesh-rank.ts <id> <rank> <size> <world> <mode>
//   exchange      send a message to every other rank, check every one received, close, exit 0
//   await-victim  exchange, then wait on a recv from the last rank (which the parent kills) and
//                 report how it ended; the last rank itself just reports ready and waits
import { connectWebSocketMesh } from '../../lib/rendezvous/worlds/websocket-world.js';
import { connectTcpMesh } from '../../lib/rendezvous/worlds/tcp-world.js';
import { parseUniqueId } from '../../lib/rendezvous/unique-id.js';
import type { Header } from '../../lib/transport/transport.js';

const [id, rankText, sizeText, world, mode] = process.argv.slice(2);
const rank = Number(rankText);
const size = Number(sizeText);
const report = (event: Record<string, unknown>) => console.log(JSON.stringify({ rank, ...event }));
// Never outlive a test that forgot us.
setTimeout(() => { report({ event: 'expired' }); process.exit(3); }, 30_000).unref();

const header = (seq: number): Header => ({ comm: 1, seq, chunk: 0, signature: { kind: 'send', count: 1024, dtype: 'float32', op: 'none', root: -1 } });
const payloadFor = (from: number, to: number) => new Uint8Array(4096).fill(from * 16 + to);

// The id's scheme says which mesh to form, as it does for Communicator.init.
const connect = parseUniqueId(id!).transport === 'tcp' ? connectTcpMesh : connectWebSocketMesh;
const transport = await connect({ id: id!, rank, size, world: world!, timeoutMs: 10_000 });
const peers = Array.from({ length: size }, (_, peer) => peer).filter((peer) => peer !== rank);
await Promise.all(peers.map((peer) => transport.send(peer, header(0), payloadFor(rank, peer))));
for (const peer of peers) {
  const message = await transport.recv(peer, 1, 0);
  if (!message.payload.every((byte) => byte === peer * 16 + rank)) throw new Error(`rank ${rank}: wrong bytes from ${peer}`);
}
report({ event: 'exchanged', description: transport.description });

if (mode === 'await-victim') {
  const victim = size - 1;
  report({ event: 'ready' });
  if (rank !== victim) {
    const started = Date.now();
    try {
      await transport.recv(victim, 1, 1);
      report({ event: 'received' });
    } catch (error) {
      report({ event: 'rejected', message: (error as Error).message, afterMs: Date.now() - started });
    }
    await transport.close();
    process.exit(0);
  }
} else {
  await transport.close();
  process.exit(0);
}
