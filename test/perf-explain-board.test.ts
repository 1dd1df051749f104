// webccl-perf --explain prices the board where the transport offers one (shm, with the addon), as
// the ranks' auto does: the call it describes to the model says so. Without that, every shm size
// was explained as a schedule of messages 1.4-31x the board's time, which the ranks never ran.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the shm and ntcp worlds
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { explainLines } from '../bench/perf/explain.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { chooseAlgorithm, DEFAULT_DIRECT_THRESHOLD_BYTES, DEFAULT_TREE_THRESHOLD_BYTES } from '../lib/tune/select.js';
import { offersBoard } from '../lib/transport/world.js';
import { requireAddon } from './helpers/native-transports.js';

requireAddon('shm');

const MiB = 1 << 20;
// The board's own curve well under the others' per byte, as every shm calibration's (versus31).
const params: CostParams = {
  ...DEFAULT_COST_PARAMS, call: 20e-6, alpha: 30e-6, overhead: 5e-6, gamma: 1e-10,
  board: { call: 10e-6 },
  betaCurves: { board: [{ linkBytes: 64 << 10, beta: 0.2e-9 }, { linkBytes: 16 * MiB, beta: 0.4e-9 }], ring: [{ linkBytes: 16 * MiB, beta: 1e-9 }], tree: [{ linkBytes: 16 * MiB, beta: 1e-9 }] },
};

function explained(transport: string, collective = 'allreduce'): { header: string[]; columns: string[]; choices: Map<number, string> } {
  const options = parsePerfArgs([collective, '--explain', '--np', '4', '--transport', transport, '-b', '8', '-e', '64M', '-f', '32']) as PerfOptions;
  const lines = explainLines(options, { params, what: 'the test' });
  const columns = lines.find((l) => l.startsWith('#') && /\bchoice\b/.test(l))!.replace(/^#/, '').trim().split(/\s+/).slice(3);
  const choices = new Map(lines.filter((l) => !l.startsWith('#')).map((line) => {
    const [bytes, choice] = line.trim().split(/\s+/);
    return [Number(bytes), choice!] as const;
  }));
  return { header: lines.filter((l) => l.startsWith('#')), columns, choices };
}

test('shm offers a board, tcp and ntcp none', () => {
  assert.ok(offersBoard('shm'));
  assert.not.ok(offersBoard('tcp'));
  assert.not.ok(offersBoard('ntcp'));
});

test('shm: the board is a column and the choice at every size, as the ranks\' auto with a board; the header says so', () => {
  const { header, columns, choices } = explained('shm');
  assert.ok(columns.includes('board'), columns.join(' '));
  assert.ok(header.some((l) => /board: shm offers one/.test(l)), header.join('\n'));
  assert.ok(choices.size >= 5);
  const config = { algorithm: 'auto', treeThresholdBytes: DEFAULT_TREE_THRESHOLD_BYTES, directThresholdBytes: DEFAULT_DIRECT_THRESHOLD_BYTES, chunkBytes: 8 * MiB, tuning: { params, digest: 'test' } };
  for (const [bytes, choice] of choices) {
    assert.is(choice, 'board', `${bytes} B`);
    assert.is(chooseAlgorithm('allReduce', bytes, 4, config, undefined, { dtype: 'float32', op: 'sum', board: true }).algorithm, choice, `${bytes} B`);
  }
  // Broadcast too (the board serves it).
  assert.ok(explained('shm', 'broadcast').columns.includes('board'));
});

test('tcp: no board column, no board choice', () => {
  const { header, columns, choices } = explained('tcp');
  assert.not.ok(columns.includes('board'), columns.join(' '));
  assert.ok(header.some((l) => /board: tcp offers none/.test(l)));
  for (const choice of choices.values()) assert.is.not(choice, 'board');
});

test.run();
