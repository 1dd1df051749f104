// Calibration with a switch configured: it times switch allreduces and fits the switch's
// per-packet cost (π) and round trip from them, the same on every rank (the slowest rank's
// figures), and --explain prices the switch with them. A real SwitchServer on loopback, in
// this process (as test/comm-switch.test.ts starts one).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the switch aggregator
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { explainLines } from '../bench/perf/explain.js';
import { calibrationComm } from '../lib/comm/tuning.js';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { calibrate } from '../lib/tune/calibrate.js';
import { predictSeconds } from '../lib/tune/model.js';
import { DEFAULT_COST_PARAMS } from '../lib/tune/params.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';
import { within } from './within.js';
import { formatTime } from '../bench/perf/table.js';

const server = await SwitchServer.start({ port: 0 });

test('calibration with a switch: π and the round trip measured, plausible, identical on every rank, the switch runs under 2 s', async () => {
  const plain = await within(createWorld(2, {}), 30_000, 'a world without a switch');
  const comms = await within(createWorld(2, { switch: server.address, switchSecret: server.secret }), 30_000, 'a world with a switch');
  try {
    const without = await within(Promise.all(plain.map((comm) => calibrate(calibrationComm(comm), { repeats: 3 }))), 30_000, 'calibration without a switch');
    // A second calibration only where the first found π 0: that is calibration's answer when the
    // larger switch run's remainder came out no larger than the smaller's (switchCosts): CI's host
    // gave it once (stop 49), 12 runs here gave 8-26 µs. Two in a row would be a bug.
    const tries: string[] = [];
    let results = await within(Promise.all(comms.map((comm) => calibrate(calibrationComm(comm), { repeats: 3 }))), 30_000, 'calibration with a switch');
    if (results[0]!.params.switchPacket === 0) {
      tries.push(`first pi 0, round trip ${results[0]!.params.switchRoundTrip} s`);
      results = await within(Promise.all(comms.map((comm) => calibrate(calibrationComm(comm), { repeats: 3 }))), 30_000, 'calibration with a switch, again');
    }
    const p = results[0]!.params;
    for (const result of results) assert.equal(result.params, p, 'every rank the same parameters');
    // The software switch on loopback: between a tenth of a microsecond and a millisecond a packet.
    assert.ok(p.switchPacket > 1e-7 && p.switchPacket < 1e-3, `pi ${p.switchPacket} s ${tries.join('; ')}`);
    assert.ok(p.switchRoundTrip >= 0 && p.switchRoundTrip < 0.1, `round trip ${p.switchRoundTrip} s`);
    assert.is.not(p.switchPacket, DEFAULT_COST_PARAMS.switchPacket);
    // Without a switch nothing is timed: the defaults stay.
    assert.is(without[0]!.params.switchPacket, DEFAULT_COST_PARAMS.switchPacket);
    assert.is(without[0]!.params.switchRoundTrip, DEFAULT_COST_PARAMS.switchRoundTrip);
    assert.is(without[0]!.switchSeconds, undefined);
    const extra = Math.max(...results.map((r) => r.switchSeconds!));
    assert.ok(extra < 2, `the switch runs took ${extra.toFixed(2)} s`);

    // --explain prices the switch with the calibrated π and round trip.
    const options = parsePerfArgs(['allreduce', '--explain', '--np', '2', '-b', '64K', '-e', '64K', '--switch', server.address]) as PerfOptions;
    const lines = explainLines(options, { params: p, what: 'the calibration' });
    const row = lines.find((line) => !line.startsWith('#'))!;
    const header = lines.find((line) => line.startsWith('#') && line.includes('choice'))!.split(/\s+/);
    const cells = row.trim().split(/\s+/);
    // Columns: size, choice, predicted, then the candidates in the header's order.
    const switchCell = Number(cells[header.indexOf('switch') - 1]);
    const expected = predictSeconds('switch', { collective: 'allReduce', bytes: 65536, ranks: 2, chunkBytes: 1 << 20 }, p)! * 1e6;
    assert.ok(Math.abs(switchCell - expected) <= 0.01 * expected + 0.5, `explain's switch ${switchCell} us vs the model's ${expected} us`);
    const piLine = lines.find((line) => line.includes('per packet (pi)'))!;
    assert.ok(piLine.includes(`switch ${formatTime(p.switchPacket * 1e6)} us per packet`), `explain names the calibrated pi: ${piLine}`);
  } finally {
    await destroyWorld(comms);
    await destroyWorld(plain);
  }
});

test.after(() => server.close());

test.run();
