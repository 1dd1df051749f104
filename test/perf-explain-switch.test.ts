// webccl-perf --explain with a switch prices it with the packets the ranks would agree
// (WEBCCL_SWITCH_PACKET_VALUES, else the path to the switch), so its choice column is what
// 'auto' picks at run time. Before, it priced the formula's default 4096-value packets: on a
// 1500-byte path (256 values) the switch came out 16x too cheap, and --explain named it where
// the ranks ran the tree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the switch aggregator and the path probe
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { explainLines, explainPacketValues } from '../bench/perf/explain.js';
import { predictSeconds } from '../lib/tune/model.js';
import { DEFAULT_COST_PARAMS } from '../lib/tune/params.js';
import { chooseAlgorithm, DEFAULT_DIRECT_THRESHOLD_BYTES, DEFAULT_TREE_THRESHOLD_BYTES, switchTermsOf } from '../lib/tune/select.js';

const SWITCH = '127.0.0.1:9';
// A π small enough that the switch wins at some sizes with 4096-value packets and not with 256.
const params = { ...DEFAULT_COST_PARAMS, switchPacket: 20e-6, switchRoundTrip: 50e-6 };

function withEnv<T>(name: string, value: string | undefined, run: () => Promise<T>): Promise<T> {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  return run().finally(() => {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  });
}

function explained(values: number): { lines: string[]; rows: { bytes: number; choice: string; cells: Map<string, number> }[] } {
  const options = parsePerfArgs(['allreduce', '--explain', '--np', '4', '-b', '64K', '-e', '64M', '-f', '4', '--switch', SWITCH]) as PerfOptions;
  const lines = explainLines(options, { params, what: 'the test' }, values);
  const header = lines.find((line) => line.startsWith('#') && line.includes('choice'))!.slice(1).trim().split(/\s+/);
  const rows = lines.filter((line) => !line.startsWith('#')).map((line) => {
    const [bytes, choice, , ...cells] = line.trim().split(/\s+/);
    return { bytes: Number(bytes), choice: choice!, cells: new Map(header.slice(3).map((label, i) => [label, Number(cells[i])])) };
  });
  return { lines, rows };
}

test('the packet values: WEBCCL_SWITCH_PACKET_VALUES when set, else the path (loopback: 4096); a bad one is named', async () => {
  assert.is(await withEnv('WEBCCL_SWITCH_PACKET_VALUES', '256', () => explainPacketValues(SWITCH)), 256);
  assert.is(await withEnv('WEBCCL_SWITCH_PACKET_VALUES', undefined, () => explainPacketValues(SWITCH)), 4096);
  try {
    await withEnv('WEBCCL_SWITCH_PACKET_VALUES', '300', () => explainPacketValues(SWITCH));
    assert.unreachable('300 values accepted');
  } catch (error) {
    assert.match((error as Error).message, /WEBCCL_SWITCH_PACKET_VALUES=300 is not 'auto' or a power of two/);
  }
});

test('the switch is priced with the agreed packets, and the choice column is what auto picks with that configuration', () => {
  const choices = new Set<string>();
  for (const values of [256, 4096]) {
    const { lines, rows } = explained(values);
    assert.ok(lines.some((line) => line.includes(`packets of ${values} values`)), `the header names ${values} values`);
    const config = {
      algorithm: 'auto', treeThresholdBytes: DEFAULT_TREE_THRESHOLD_BYTES, directThresholdBytes: DEFAULT_DIRECT_THRESHOLD_BYTES,
      switch: SWITCH, switchExponents: 'auto' as const, switchPacketValues: values, tuning: { params, digest: 'test' },
    };
    for (const row of rows) {
      const expected = predictSeconds('switch', { collective: 'allReduce', bytes: row.bytes, ranks: 4, chunkBytes: 1 << 20, ...switchTermsOf({ switchExponents: 'auto', switchPacketValues: values }, 'float32') }, params)! * 1e6;
      const cell = row.cells.get('switch')!;
      assert.ok(Math.abs(cell - expected) <= 0.01 * expected + 0.5, `${row.bytes} B at ${values} values: explain's switch ${cell} us, the model's ${expected} us`);
      const picked = chooseAlgorithm('allReduce', row.bytes, 4, config, undefined, { dtype: 'float32', op: 'sum' }).algorithm;
      assert.is(row.choice, picked, `${row.bytes} B at ${values} values`);
      choices.add(`${values}:${row.choice}`);
    }
  }
  // The packet size changes the choice somewhere, or the test shows nothing.
  assert.ok(choices.has('4096:switch'), [...choices].join(' '));
  assert.ok([...choices].some((c) => c.startsWith('256:') && c !== '256:switch'), [...choices].join(' '));
});

test.run();
