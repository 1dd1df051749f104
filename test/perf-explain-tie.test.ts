// webccl-perf --explain past the calibrated curves: its choice column is what 'auto' picks, the
// near tie included (model.ts's tiedPastCurves gives it to the schedule of fewer link bytes, so
// the choice is not always the cheapest column), and its header says so.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { explainLines } from '../bench/perf/explain.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { chooseAlgorithm, DEFAULT_DIRECT_THRESHOLD_BYTES, DEFAULT_TREE_THRESHOLD_BYTES } from '../lib/tune/select.js';

const MiB = 1 << 20;
// Ring and tree curves to a 16 MiB allreduce at 4 ranks; the tree priced 2% under the ring past them.
const params: CostParams = {
  ...DEFAULT_COST_PARAMS, call: 0, alpha: 0, overhead: 0, gamma: 0,
  betaCurves: { ring: [{ linkBytes: 24 * MiB, beta: 1e-9 }], tree: [{ linkBytes: 32 * MiB, beta: 0.98 * 0.75e-9 }] },
};

test('past the curves the choice column is auto\'s (the ring, a near tie), not the cheapest column (the tree); the header names the rule', () => {
  const options = parsePerfArgs(['allreduce', '--explain', '--np', '4', '-b', '4M', '-e', '256M', '-f', '4']) as PerfOptions;
  const lines = explainLines(options, { params, what: 'the test' });
  assert.ok(lines.some((line) => line.includes('within 10% of the cheapest that sends fewer link bytes')), lines.join('\n'));
  const header = lines.find((line) => line.startsWith('#') && line.includes('choice'))!.slice(1).trim().split(/\s+/);
  const config = { algorithm: 'auto', treeThresholdBytes: DEFAULT_TREE_THRESHOLD_BYTES, directThresholdBytes: DEFAULT_DIRECT_THRESHOLD_BYTES, chunkBytes: MiB, tuning: { params, digest: 'test' } };
  let ties = 0;
  for (const line of lines.filter((l) => !l.startsWith('#'))) {
    const [bytes, choice, , ...cells] = line.trim().split(/\s+/);
    const priced = new Map(header.slice(3).map((label, i) => [label, Number(cells[i])]));
    assert.is(choice, chooseAlgorithm('allReduce', Number(bytes), 4, config).algorithm, `${bytes} B`);
    if (choice === 'ring' && priced.get('tree')! < priced.get('ring')!) ties++;
  }
  assert.ok(ties >= 2, `the ring chosen over a cheaper tree at 64 and 256 MiB (${ties})`);
});

test.run();
