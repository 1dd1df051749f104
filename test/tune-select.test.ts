// Algorithm selection under 'auto': a pure function of the call's size, the rank count and the
// agreed configuration, so every rank picks alike.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { selectAlgorithm, selectAllReduceAlgorithm, type TuningConfig } from '../lib/tune/select.js';

const config: TuningConfig = { algorithm: 'auto', treeThresholdBytes: 65536, directThresholdBytes: 32768 };

test('allReduce: direct while (ranks - 1) x bytes fits the direct threshold, then tree, then ring', () => {
  assert.is(selectAllReduceAlgorithm(8, 2, config), 'direct');
  assert.is(selectAllReduceAlgorithm(32768, 2, config), 'direct');
  assert.is(selectAllReduceAlgorithm(32769, 2, config), 'tree');
  assert.is(selectAllReduceAlgorithm(8192, 5, config), 'direct');
  assert.is(selectAllReduceAlgorithm(8193, 5, config), 'tree');
  assert.is(selectAllReduceAlgorithm(65537, 2, config), 'ring');
  assert.is(selectAllReduceAlgorithm(8, 1, config), 'tree');
});

test('a threshold of 0 turns the direct exchange off; an explicit algorithm wins', () => {
  assert.is(selectAllReduceAlgorithm(0, 4, { ...config, directThresholdBytes: 0 }), 'tree');
  assert.is(selectAllReduceAlgorithm(8, 2, config, 'ring'), 'ring');
  assert.is(selectAllReduceAlgorithm(8, 2, { ...config, algorithm: 'tree' }), 'tree');
  assert.is(selectAlgorithm(8, config), 'tree');
});

test.run();
