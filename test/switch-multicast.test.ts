// The native switch's multicast of results (lib/switch/multicast.ts): a job whose workers share
// the switch's host gets a group, each completed slot leaves once to it, and the workers'
// results stay exact; two jobs at once get two groups; 'off', dgram workers and the TypeScript
// plane fall back to unicast (and 'on' refuses what cannot multicast); loss is still repaired;
// a datagram to the group from anyone but the switch is dropped and counted by the worker.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { SwitchServer, type JobReport } from '../lib/switch/switch-server.js';
import { chooseMulticast, groupOf } from '../lib/switch/multicast.js';
import { encodePacket, MSG_RESULT, packetBytes } from '../lib/switch/packet.js';
import { nativeAddon } from '../lib/native/load.js';
import { float32Violation, int32Sum, joinJob, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { rejection, within } from './within.js';

/**
 * Sums `count` int32 and float32 values on workers of `server`; checks them; returns the job's
 * report and the switch's datagrams sent during the job.
 */
async function checkedJob(server: SwitchServer, n: number, count: number, extra: Parameters<typeof joinJob>[2] = {}): Promise<{ report: JobReport; sent: number }> {
  const before = server.counters().offload?.sentDatagrams ?? 0;
  const workers = await joinJob(server, n, extra);
  const world = workers[0]!.welcome.job;
  try {
    const ints = workers.map((_, r) => randomInt32(count, 7 * r + n));
    const got = await within(Promise.all(workers.map((w, r) => w.allReduce(ints[r]!))), 60_000, `${n} workers int32`);
    const want = int32Sum(ints);
    got.forEach((g, r) => assert.equal(g, want, `int32, rank ${r} of ${n}`));
    const floats = workers.map((_, r) => randomFloat32(count, 13 * r + n));
    const fgot = await within(Promise.all(workers.map((w, r) => w.allReduce(floats[r]!))), 60_000, `${n} workers float32`);
    fgot.forEach((g, r) => {
      assert.is(float32Violation(floats, g, 64), undefined, `float32, rank ${r} of ${n}`);
      assert.equal(g, fgot[0], 'every rank the same bits');
    });
    const report = server.counters().jobs.find((j) => j.running && j.job === world)!;
    return { report, sent: (server.counters().offload?.sentDatagrams ?? 0) - before };
  } finally {
    for (const w of workers) w.close();
  }
}

/**
 * Slots completed and retransmission answers of a job: packetsOut counts n per completion and
 * 1 per answer, so with `answers` = retransmissions that found the slot complete the two follow.
 */
function completions(report: JobReport): { done: number; answers: number } {
  const answers = report.retransmissions - report.droppedIncomplete;
  return { done: (report.packetsOut - answers) / report.workers, answers };
}

test('multicast: 2, 3 and 8 same-host workers get exact int32 and bounded float32 results, each completion sent once to the job group', async () => {
  const server = await SwitchServer.start({ dataPlane: 'native', port: 0, multicast: 'on' });
  try {
    for (const n of [2, 3, 8]) {
      const { report, sent } = await checkedJob(server, n, 70_000);
      assert.equal(report.results.kind, 'multicast', `${n} workers: ${JSON.stringify(report.results)}`);
      const { done, answers } = completions(report);
      // Once per completion (a unicast switch sends n per completion). Broken: the per-worker loop.
      assert.is(sent, done + answers, `${n} workers: sent ${sent} for ${done} completions and ${answers} answers`);
      // The workers got their results from the group, not by asking again. Broken: a worker that
      // does not join (every slot is then answered once per worker).
      assert.ok(answers < done / 2, `${n} workers: ${answers} retransmission answers for ${done} completions`);
    }
  } finally {
    await server.close();
  }
});

test('two jobs at once on one switch: two groups, both exact', async () => {
  const server = await SwitchServer.start({ dataPlane: 'native', port: 0 });
  try {
    const [a, b] = await Promise.all([checkedJob(server, 4, 50_000), checkedJob(server, 5, 50_000, { window: 64 })]);
    assert.equal(a.report.results.kind, 'multicast');
    assert.equal(b.report.results.kind, 'multicast');
    assert.not.equal(a.report.results, b.report.results, 'each job its own group');
  } finally {
    await server.close();
  }
});

test('fallback: multicast off, dgram workers, or the TypeScript plane send once per worker; on refuses a job that cannot join', async () => {
  const off = await SwitchServer.start({ dataPlane: 'native', port: 0, multicast: 'off' });
  try {
    const { report, sent } = await checkedJob(off, 4, 20_000);
    assert.equal(report.results, { kind: 'unicast', reason: 'multicast is off' });
    const { done, answers } = completions(report);
    assert.is(sent, 4 * done + answers, 'once per worker');
  } finally {
    await off.close();
  }
  const auto = await SwitchServer.start({ dataPlane: 'native', port: 0 });
  try {
    const { report } = await checkedJob(auto, 4, 5_000, { udpSocket: 'dgram' });
    assert.equal(report.results.kind, 'unicast');
    assert.match((report.results as { reason: string }).reason, /cannot join a group/);
  } finally {
    await auto.close();
  }
  const js = await SwitchServer.start({ dataPlane: 'js', port: 0, multicast: 'auto' });
  try {
    const { report } = await checkedJob(js, 2, 5_000);
    assert.equal(report.results.kind, 'unicast');
    assert.match((report.results as { reason: string }).reason, /TypeScript data plane/);
  } finally {
    await js.close();
  }
  const forced = await SwitchServer.start({ dataPlane: 'native', port: 0, multicast: 'on' });
  try {
    const error = await rejection(joinJob(forced, 2, { udpSocket: 'dgram' }), 20_000, 'a forced-multicast job of dgram workers');
    assert.match(error.message, /multicast is on, but 2 worker\(s\) cannot join a group/);
  } finally {
    await forced.close();
  }
});

test('the choice: auto multicasts only same-host UDP workers that can join; on needs a LAN address; off never', () => {
  const local = { via: 'udp' as const, host: '127.0.0.1', canJoin: true };
  assert.is(chooseMulticast('auto', 5, [local, local, local], '127.0.0.1', 40000).kind, 'unicast', 'auto: 3 workers are too few');
  assert.is(chooseMulticast('on', 5, [local, local, local], '127.0.0.1', 40000).kind, 'multicast');
  assert.equal(chooseMulticast('auto', 5, [local, local, local, local], '127.0.0.1', 40000), { kind: 'multicast', group: { group: groupOf(5, 40000), port: 40000, via: '127.0.0.1' } });
  assert.is(chooseMulticast('off', 5, [local, local, local, local], '127.0.0.1', 40000).kind, 'unicast');
  assert.is(chooseMulticast('auto', 5, [local, local, local, { ...local, via: 'websocket' }], '127.0.0.1', 40000).kind, 'unicast');
  assert.is(chooseMulticast('auto', 5, [local, local, local, { ...local, host: '10.0.0.2' }], '0.0.0.0', 40000).kind, 'unicast');
  assert.is(chooseMulticast('on', 5, [local, { ...local, host: '10.0.0.2' }], '0.0.0.0', 40000).kind, 'refused');
  assert.equal(chooseMulticast('on', 5, [{ ...local, host: '10.0.0.2' }], '10.0.0.1', 40000), { kind: 'multicast', group: { group: groupOf(5, 40000), port: 40000, via: '10.0.0.1' } });
  assert.is(chooseMulticast('auto', 5, [local, local, local, local], '127.0.0.1', undefined).kind, 'unicast');
  assert.is.not(groupOf(5, 40000), groupOf(6, 40000));
});

test('loss on both directions of the switch (10% drop, dup, reorder) with multicast: exact, repaired by retransmission', async () => {
  const clean = await SwitchServer.start({ dataPlane: 'native', port: 0 });
  const faulty = await SwitchServer.start({ dataPlane: 'native', port: 0, faults: { drop: 0.1, dup: 0.1, reorder: 0.1, seed: 5 } });
  try {
    const inputs = [0, 1, 2, 3].map((r) => randomInt32(20_000, r + 40));
    const sums = async (server: SwitchServer) => {
      const workers = await joinJob(server, 4, { retransmitMs: 5 });
      try {
        return await within(Promise.all(workers.map((w, r) => w.allReduce(inputs[r]!))), 60_000, 'int32 under loss');
      } finally {
        for (const w of workers) w.close();
      }
    };
    const want = int32Sum(inputs);
    for (const g of await sums(clean)) assert.equal(g, want);
    for (const g of await sums(faulty)) assert.equal(g, want);
    const report = faulty.counters().jobs[0]!;
    assert.equal(report.results.kind, 'multicast');
    assert.ok(report.retransmissions > 0 && faulty.counters().faults.dropped > 0);
  } finally {
    await clean.close();
    await faulty.close();
  }
});

test('worker group socket: a datagram to the group from anyone but the switch is dropped and counted; the switch\'s is delivered', async () => {
  const Native = nativeAddon()!.SwitchWorkerSocket!;
  const fakeSwitch = await bound();
  const stranger = await bound();
  const delivered: number[] = [];
  const socket = new Native('127.0.0.1', (bytes, lengths) => { for (const l of lengths) delivered.push(bytes[0]!, l); });
  const group = groupOf(250, fakeSwitch.address().port);
  const groupPort = fakeSwitch.address().port + 1;
  try {
    assert.throws(() => socket.joinGroup!('10.1.2.3', groupPort, '127.0.0.1', 1), /not an IPv4 multicast address/);
    socket.joinGroup!(group, groupPort, '127.0.0.1', fakeSwitch.address().port);
    socket.connect('127.0.0.1', fakeSwitch.address().port);
    const result = encodePacket({ type: MSG_RESULT, sizeClass: 0, job: 250, packetId: 1, slot: 0, copy: 0, e0: 0, e1: 0 }, new Array(32).fill(1));
    assert.is(result.length, packetBytes(0));
    const sendAll = (from: UdpSocket) => new Promise<void>((done) => {
      from.setMulticastInterface('127.0.0.1');
      from.send(result, groupPort, group, () => done());
    });
    await sendAll(stranger);
    await sendAll(stranger);
    await sendAll(fakeSwitch);
    await within(until(() => delivered.length >= 2), 5_000, 'the switch\'s datagram');
    await new Promise((r) => setTimeout(r, 50));
    // Broken: without the source check, the stranger's two would be delivered too.
    assert.equal(delivered, [result[0], result.length]);
    const counters = socket.counters();
    assert.is(counters.groupStrangers, 2);
    assert.is(counters.groupDatagrams, 1);
  } finally {
    socket.close();
    fakeSwitch.close();
    stranger.close();
  }
});

test('a stranger spraying forged results for every slot of a running job at its group: the results stay exact', async () => {
  const server = await SwitchServer.start({ dataPlane: 'native', port: 0 });
  const stranger = await bound();
  stranger.setMulticastInterface('127.0.0.1');
  let spraying = true;
  try {
    const workers = await joinJob(server, 4, { window: 32 });
    const { job, slotBase, window, sizeClass } = workers[0]!.welcome;
    const report = server.counters().jobs.find((j) => j.job === job)!;
    assert.equal(report.results.kind, 'multicast');
    const [group, port] = (report.results as { group: string }).group.split(':');
    const spray = async () => {
      for (let round = 0; spraying; round++) {
        for (let id = 0; id < 700; id++) {
          const forged = encodePacket({ type: MSG_RESULT, sizeClass, job, packetId: id, slot: slotBase + (id % window), copy: (Math.floor(id / window) % 2) as 0 | 1, e0: 0, e1: 0 }, new Array(32 << sizeClass).fill(12345));
          stranger.send(forged, Number(port), group!);
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const sprayed = spray();
    try {
      const inputs = workers.map((_, r) => randomInt32(40_000, r + 70));
      const got = await within(Promise.all(workers.map((w, r) => w.allReduce(inputs[r]!))), 60_000, 'int32 while sprayed');
      // Broken: without the source check the forged sums (12345s) land in the output.
      for (const g of got) assert.equal(g, int32Sum(inputs));
    } finally {
      spraying = false;
      await sprayed;
      for (const w of workers) w.close();
    }
  } finally {
    stranger.close();
    await server.close();
  }
});

function bound(): Promise<UdpSocket> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 5));
}

test.run();
