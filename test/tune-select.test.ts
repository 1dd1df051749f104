// Algorithm selection under 'auto': a pure function of the call's size, the rank count and the
// agreed configuration, so every rank picks alike.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chooseAlgorithm, selectAlgorithm, type TuningConfig } from '../lib/tune/select.js';

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

test('mesh: auto picks it from 3 ranks up for allreduces above the tree threshold up to the mesh threshold, never without one', () => {
  const mesh = { ...config, meshThresholdBytes: 4 << 20 };
  assert.is(selectAlgorithm('allReduce', 1 << 20, 4, mesh), 'mesh');
  assert.is(selectAlgorithm('allReduce', 4 << 20, 3, mesh), 'mesh');
  assert.is(selectAlgorithm('allReduce', (4 << 20) + 4, 4, mesh), 'ring', 'above the threshold');
  assert.is(selectAlgorithm('allReduce', 1 << 20, 2, mesh), 'ring', 'at 2 ranks the ring is the same two hops');
  assert.is(selectAlgorithm('allReduce', 65536, 4, mesh), 'tree', 'the tree keeps its sizes');
  assert.is(selectAlgorithm('allReduce', 8, 4, mesh), 'direct');
  assert.is(selectAlgorithm('allReduce', 1 << 20, 4, config), 'ring', 'no threshold: never');
  assert.is(selectAlgorithm('allReduce', 1 << 20, 4, { ...mesh, meshThresholdBytes: 0 }), 'ring');
  assert.is(selectAlgorithm('reduce', 1 << 20, 4, mesh), 'ring', 'the mesh serves allreduce only');
  assert.is(selectAlgorithm('allReduce', 1 << 20, 4, mesh, 'ring'), 'ring', 'an explicit algorithm wins');
  assert.is(selectAlgorithm('allReduce', 64 << 20, 4, config, 'mesh'), 'mesh', 'named, it runs at any size');
});

test('a collective that a chosen algorithm does not serve gets one that does', () => {
  assert.is(selectAlgorithm('allGather', 8, 4, { ...config, algorithm: 'tree' }), 'ring');
  assert.is(selectAlgorithm('broadcast', 8, 4, config, 'ring'), 'ring');
  assert.is(selectAlgorithm('allToAll', 8, 4, config, 'ring'), 'pairwise');
  assert.is(selectAlgorithm('barrier', 0, 4, config), 'dissemination');
  assert.is(selectAlgorithm('send', 8, 2, config), 'p2p');
});

test('switch: auto picks it only with an address and for calls it supports, else says why; named, it refuses', () => {
  const sum = { dtype: 'float32', op: 'sum' } as const;
  const max = { dtype: 'float32', op: 'max' } as const;
  assert.equal(chooseAlgorithm('allReduce', 1 << 20, 4, config, undefined, sum), { algorithm: 'ring' });
  const withSwitch = { ...config, switch: '127.0.0.1:48864' };
  assert.equal(chooseAlgorithm('allReduce', 8, 4, withSwitch, undefined, sum), { algorithm: 'switch' });
  assert.equal(chooseAlgorithm('allReduce', 8, 4, withSwitch, undefined, { dtype: 'int32', op: { premulSum: 3 } }), { algorithm: 'switch' });
  const fallback = chooseAlgorithm('allReduce', 1 << 20, 4, withSwitch, undefined, max);
  assert.is(fallback.algorithm, 'ring');
  assert.match(fallback.fallback ?? '', /does not support op max/);
  assert.is(chooseAlgorithm('allReduce', 1 << 20, 33, withSwitch, undefined, sum).algorithm, 'ring', 'more ranks than the bitmap');
  assert.is(chooseAlgorithm('allReduce', 1 << 20, 64, withSwitch, undefined, { ...sum, aggregatorWorkers: 2 }).algorithm, 'switch', '64 ranks on 2 hosts (switchHierarchy host)');
  assert.throws(() => chooseAlgorithm('allReduce', 8, 40, withSwitch, 'switch', { ...sum, aggregatorWorkers: 33 }), /at most 32 workers per switch \(its worker bitmap: hosts, or ranks at a leaf and leaves at the root\), not 33/);
  assert.is(chooseAlgorithm('broadcast', 1 << 20, 4, withSwitch).algorithm, 'ring', 'the switch serves allReduce only');
  assert.throws(() => chooseAlgorithm('allReduce', 8, 4, withSwitch, 'switch', max), /InvalidArgument: the switch algorithm does not support op max/);
  assert.throws(() => chooseAlgorithm('allReduce', 8, 4, { ...withSwitch, algorithm: 'switch' }, undefined, max), /InvalidArgument/);
  assert.throws(() => chooseAlgorithm('allReduce', 8, 4, config, 'switch', sum), /needs a switch address/);
});

test.run();
