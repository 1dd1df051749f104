// When a worker resends (lib/switch/worker.ts, native/src/switch-stream.h): a switch whose
// results are late but keep coming (a slow peer, a deep queue: what an oversubscribed host
// looks like) gets no packets again beyond the probes of its stall, nor after a stall longer
// than the fallback's 200 ms once round trips that long were seen to end without loss; a packet lost inside a
// window sent at once is repaired while the results behind it keep arriving, not once they run
// out. Both streams, against a fake switch that answers in packet order at a fixed pace, as a
// switch waiting for its slowest worker does.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SwitchWorker } from '../lib/switch/worker.js';
import { fakeSwitch, resultOf } from './helpers/fake-switch.js';
import { randomInt32 } from './helpers/switch-job.js';
import { within } from './within.js';

const test = suite('switch retransmission');
const JOB = { job: 5, worker: 0, workers: 1, slotBase: 0, window: 64, sizeClass: 0 }; // 32 values a packet
const GAP_MS = 2;
/** The workers' first wait (SwitchML's is 10 ms): 20 ms keeps this process's own stalls under load from looking like loss. */
const RETRANSMIT_MS = 20;

interface Draining {
  readonly address: string;
  /** Results sent so far (first answers only). */
  readonly answered: () => number;
  /** For each packet id sent more than once: how many results had gone out when its second copy came. */
  readonly resent: Map<number, number>;
  close(): Promise<void>;
}

/**
 * A switch that answers updates in the order they came, one every GAP_MS after `stallMs`; as a
 * switch does (`pace` results a tick, by the count so far), a copy of an answered packet gets its result again and a copy of a packet still
 * queued is dropped (its slot is incomplete). `lost` packets' first copies never arrive; `pause`
 * holds the results back once, after `after` of them.
 */
async function drainingSwitch(stallMs: number, lost: ReadonlySet<number>, pause?: { after: number; ms: number }, pace: (answered: number) => number = () => 1): Promise<Draining> {
  const queue: Buffer[] = [];
  const queued = new Set<number>();
  const done = new Set<number>();
  const arrived = new Set<number>();
  const resent = new Map<number, number>();
  let answered = 0;
  let send: ((bytes: Uint8Array) => void) | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let pausedUntil = 0;
  // The stall starts with the first update (the worker's join takes its own time).
  let start: ReturnType<typeof setTimeout> | undefined;
  let credit = 0;
  const drain = () => {
    timer = setInterval(() => {
      credit = Math.min(credit + pace(answered), 8);
      for (; credit >= 1 && Date.now() >= pausedUntil; credit--) {
        const update = queue.shift();
        if (update === undefined || send === undefined) return;
        const id = update.readUInt32BE(2);
        queued.delete(id);
        done.add(id);
        answered++;
        send(resultOf(update));
        if (pause !== undefined && answered === pause.after && pausedUntil === 0) pausedUntil = Date.now() + pause.ms;
      }
    }, GAP_MS);
  };
  const fake = await fakeSwitch(JOB, (update, reply) => {
    send = reply;
    start ??= setTimeout(drain, stallMs);
    const id = update.readUInt32BE(2);
    const again = arrived.has(id);
    arrived.add(id);
    if (again && !resent.has(id)) resent.set(id, answered);
    if (done.has(id)) return reply(resultOf(update));
    if (queued.has(id) || (lost.has(id) && !again)) return;
    queued.add(id);
    queue.push(update);
  });
  return {
    address: fake.address, answered: () => answered, resent,
    close: async () => {
      clearTimeout(start);
      clearInterval(timer);
      await fake.close();
    },
  };
}

function connect(address: string, stream: 'native' | 'typescript'): Promise<SwitchWorker> {
  return within(SwitchWorker.connect({
    switch: address, secret: 's', world: 'fake', rank: 0, size: 1, window: JOB.window, sizeClass: JOB.sizeClass,
    udpSocket: 'native', stream, retransmitMs: RETRANSMIT_MS, timeoutMs: 10_000,
  }), 5000, 'joining the fake switch');
}

for (const stream of ['native', 'typescript'] as const) {
  test(`${stream} stream: results late but flowing (a 150 ms stall, then one every ${GAP_MS} ms) bring the stall's probes and no resends after them`, async () => {
    const fake = await drainingSwitch(150, new Set());
    const worker = await connect(fake.address, stream);
    try {
      const input = randomInt32(32 * JOB.window * 3, 41); // three windows of packets
      const out = await within(worker.allReduce(input), 20_000, 'the call');
      assert.equal(out, input);
      const { retransmitted, probes } = worker.counters;
      // Nothing was lost: whatever went again was a probe of the stall (its waits doubling from
      // 20 ms: three or four), never the window behind it. Before the probe's timer was re-armed
      // by each result and an original's late answer cleared an answered retransmission's verdict,
      // the lowest overdue packet was probed all through the drain and, once a probe's answer was
      // a wait old, the whole window was resent as lost (40-60 resends here).
      assert.is(retransmitted, probes, `only probes: ${JSON.stringify(worker.counters)}`);
      assert.ok(probes <= 16, `the stall's probes only: ${JSON.stringify(worker.counters)}`);
      assert.is(worker.counters.windowCuts, 0);
    } finally {
      worker.close();
      await fake.close();
    }
  });

  test(`${stream} stream: after round trips of 250 ms that ended without loss, a stall of 350 ms brings probes only`, async () => {
    // Call 1: results one every 4 ms, so a window's round trip is 256 ms with no gap (delayed,
    // not lost: learned). Call 2: results fast (the round trip, hence 8 first waits, falls far
    // under 200 ms), then, a window in, none for 350 ms. Every packet in flight is overdue by
    // then; before the fallback learned from delays it resent each of them at 200 ms (a
    // window's worth and a cut), now it waits twice the longest round trip seen.
    const packets = 2 * JOB.window;
    const fake = await drainingSwitch(0, new Set(), { after: packets + JOB.window, ms: 350 }, (answered) => (answered < packets ? 0.5 : 8));
    const worker = await connect(fake.address, stream);
    try {
      const input = randomInt32(32 * packets, 45);
      assert.equal(await within(worker.allReduce(input), 20_000, 'call 1'), input);
      const before = { ...worker.counters };
      assert.equal(await within(worker.allReduce(input), 20_000, 'call 2'), input);
      const retransmitted = worker.counters.retransmitted - before.retransmitted;
      const probes = worker.counters.probes - before.probes;
      assert.is(retransmitted, probes, `call 2: only probes: ${JSON.stringify(worker.counters)}`);
      assert.ok(probes <= 8, `the stall's probes only: ${JSON.stringify(worker.counters)}`);
    } finally {
      worker.close();
      await fake.close();
    }
  });

  test(`${stream} stream: a packet lost inside a window sent at once is resent while the results behind it arrive`, async () => {
    const fake = await drainingSwitch(0, new Set([3]));
    const worker = await connect(fake.address, stream);
    try {
      const input = randomInt32(32 * JOB.window * 2, 43);
      const out = await within(worker.allReduce(input), 20_000, 'the call');
      assert.equal(out, input, 'exact after the repair');
      // Packets 4.. are answered first (the switch completes what it has); their results prove 3
      // lost (it went before them), so it goes again after the 20 ms reordering window, about
      // ten results in, not once the results have run out (after the 127 others: its slot holds
      // back packet 67, and every other packet of the call is answered first).
      const at = fake.resent.get(3);
      assert.ok(at !== undefined, 'packet 3 was resent');
      assert.ok(at < JOB.window, `resent after ${at} results`);
      // Anything else that went again was a probe (this process's loop stalled under load).
      assert.ok(fake.resent.size - 1 <= worker.counters.probes, `only packet 3 was found lost: ${[...fake.resent.keys()].join(', ')}, ${JSON.stringify(worker.counters)}`);
    } finally {
      worker.close();
      await fake.close();
    }
  });
}

test.run();
