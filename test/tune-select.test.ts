// Algorithm selection under 'auto': a pure function of the call's size, the rank count and the
// agreed configuration, so every rank picks alike.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { selectAlgorithm, type TuningConfig } from '../lib/tune/select.js';

const config: TuningConfig = { algorithm: 'auto', treeThresholdBytes: 65536, directThresholdBytes: 32768 };

test('allReduce: direct while (ranks - 1) x bytes fits the direct threshold, then tree, then ring', () => {
  assert.is(selectAlgorithm('allReduce', 8, 2, config), 'direct');
  assert.is(selectAlgorithm('allReduce', 32768, 2, config), 'direct');
  assert.is(selectAlgorithm('allReduce', 32769, 2, config), 'tree');
  assert.is(selectAlgorithm('allReduce', 8192, 5, config), 'direct');
  assert.is(selectAlgorithm('allReduce', 8193, 5, config), 'tree');
  assert.is(selectAlgorithm('allReduce', 65537, 2, config), 'ring');
  assert.is(selectAlgorithm('allReduce', 8, 1, config), 'tree');
});

test('a threshold of 0 turns the direct exchange off; an explicit algorithm wins', () => {
  assert.is(selectAlgorithm('allReduce', 0, 4, { ...config, directThresholdBytes: 0 }), 'tree');
  assert.is(selectAlgorithm('allReduce', 8, 2, config, 'ring'), 'ring');
  assert.is(selectAlgorithm('allReduce', 8, 2, { ...config, algorithm: 'tree' }), 'tree');
  assert.is(selectAlgorithm('broadcast', 8, 4, config), 'tree');
  assert.is(selectAlgorithm('reduce', 65537, 4, config), 'ring');
});

test('a collective that a chosen algorithm does not serve gets one that does', () => {
  assert.is(selectAlgorithm('allGather', 8, 4, { ...config, algorithm: 'tree' }), 'ring');
  assert.is(selectAlgorithm('broadcast', 8, 4, config, 'ring'), 'ring');
  assert.is(selectAlgorithm('allToAll', 8, 4, config, 'ring'), 'pairwise');
  assert.is(selectAlgorithm('barrier', 0, 4, config), 'dissemination');
  assert.is(selectAlgorithm('send', 8, 2, config), 'p2p');
});

test.run();
