// A rank dies and only the switch can say so. Two ranks in this process and one in a child
// process form a relay world of a rendezvous server that hosts a switch with room for exactly
// one job; the in-process ranks' transports are muted (their failure notices never reach the
// communicator, as if the relay's news were lost), so while they are inside a long switch call
// the switch's 'ended' is the only path by which they can learn that the child was SIGKILLed.
// They must reject well before their 120 s timeout, naming the switch and the rank; the switch
// must free the job's slots, so that the next job (which needs all of them) runs exact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js';
import { Communicator } from '../lib/comm/communicator.js';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { connectRelay } from '../lib/rendezvous/relay-client.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { nodeWebSocket } from '../lib/transport/handshake/node-web-socket.js';
import type { Transport, TransportFailure } from '../lib/transport/transport.js';
import { killLeftoverRanks, startRank } from './helpers/rank-process.js';
import { oracleReduce, sameElements } from './helpers/comm-world.js';
import { randomInt32 } from './helpers/switch-job.js';
import { rejection, within } from './within.js';

const TIMEOUT_MS = 120_000;
const PROMPT_MS = 10_000;

/** `transport` with its failure notices withheld from the communicator (and counted here). */
function muted(transport: Transport, heard: TransportFailure[]): Transport {
  transport.onFailure((failure) => heard.push(failure));
  return new Proxy(transport, {
    get(target, property) {
      if (property === 'onFailure') return () => undefined;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function relayRanks(id: string, world: string, ranks: readonly number[], size: number, heard: TransportFailure[]): Promise<Communicator[]> {
  return Promise.all(ranks.map(async (rank) => {
    const transport = await connectRelay({ id, rank, size, world, WebSocket: nodeWebSocket(), timeoutMs: 30_000 });
    return Communicator.init({ transport: muted(transport, heard), rank, size, algorithm: 'switch', timeoutMs: TIMEOUT_MS });
  }));
}

test('a process rank SIGKILLed inside a switch call, transports muted: the switch tells the others, who reject promptly; its slots serve the next job', async () => {
  // 256 slots: exactly one job's window, so the next job runs only if the dead one's slots are freed.
  const server = await RendezvousServer.start({ switch: { slots: 256 } });
  const hosted = server.hostedSwitch!;
  const id = formatUniqueId({ ...parseUniqueId(server.id), transport: 'relay' });
  const heard: TransportFailure[] = [];
  try {
    const child = startRank(id, 2, 3, 'switch', { WEBCCL_ALGO: 'switch' });
    const comms = await within(relayRanks(id, 'world', [0, 1], 3, heard), 30_000, 'the in-process ranks');
    const transports = comms.map((c) => c.transport);
    try {
      await within(child.next('calling'), 30_000, 'the child rank calling');
      const count = 1 << 22;
      const calls = comms.map((c) => c.allReduce(new Int32Array(count), new Int32Array(count), count, 'int32', 'sum'));
      for (const call of calls) call.catch(() => undefined);
      const running = () => hosted.counters().jobs.find((job) => job.running && job.workers === 3);
      for (let i = 0; i < 2000 && !(running()?.packetsIn ?? 0); i++) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.ok(running()?.packetsIn, 'the job was running when the child died');
      const killedAt = performance.now();
      child.child.kill('SIGKILL');
      for (const [rank, call] of calls.entries()) {
        const error = await rejection(call, PROMPT_MS, `rank ${rank}`);
        assert.match(error.message, new RegExp(`switch ${hosted.address.replace(/\./g, '\\.')}.*worker 2 of job '[^']+' left`), `rank ${rank}: ${error.message}`);
      }
      const ms = performance.now() - killedAt;
      assert.ok(ms < PROMPT_MS, `rejected ${ms.toFixed(0)} ms after the kill`);
      console.log(`# the others rejected ${ms.toFixed(0)} ms after SIGKILL (timeout ${TIMEOUT_MS} ms)`);
      // The muted path did carry the news too, so the test withheld something real.
      for (let i = 0; i < 1000 && !heard.some((f) => f.peer === 2); i++) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.ok(heard.some((f) => f.peer === 2), 'the relay told the muted transports that rank 2 was lost');
      assert.is(running(), undefined, 'the job is over on the switch');
    } finally {
      await within(Promise.all(comms.map((c) => c.destroy().catch(() => undefined))), 15_000, 'destroy');
      await Promise.all(transports.map((t) => t.close()));
    }

    // The next job needs all 256 slots.
    const next = await within(relayRanks(id, 'next', [0, 1], 2, []), 30_000, 'the next world');
    try {
      const inputs = next.map((_, r) => randomInt32(20_000, r + 5));
      const outputs = inputs.map(() => new Int32Array(20_000));
      await within(Promise.all(next.map((c, r) => c.allReduce(inputs[r]!, outputs[r]!, 20_000, 'int32', 'sum'))), 30_000, 'the next job');
      for (const out of outputs) sameElements(out, oracleReduce(inputs, 20_000, 'int32', 'sum'), 'the next job');
    } finally {
      await Promise.all(next.map((c) => c.destroy()));
      await Promise.all(next.map((c) => c.transport.close()));
    }
  } finally {
    killLeftoverRanks();
    await server.close();
  }
});

test.run();
