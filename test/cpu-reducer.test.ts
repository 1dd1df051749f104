// Host memory folds with the reducer an entry installed: TypeScript in the core, the addon's
// SIMD loops once the Node entry loaded it (bit-identical: test/native-reduce.test.ts), and
// TypeScript again without the addon. The calls really go through the installed reducer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpuReducer, useCpuReducer, type CpuReducer } from '../lib/cpu/cpu-reducer.js';
import { describeUnavailable, loadNative } from '../lib/native/load.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';

const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`this suite needs the addon: ${describeUnavailable(loaded)}`);

test('the core alone reduces in TypeScript; the Node entry installs the native reducer', async () => {
  assert.is(cpuReducer().name, 'typescript');
  await import('../lib/index.node.js');
  assert.is(cpuReducer().name, `native(${loaded.addon.reduceVariant})`);
});

test('host-memory allReduce (sum and avg) folds through the installed reducer', async () => {
  const native = cpuReducer();
  const calls = { accumulate: 0, finishAverage: 0 };
  const counting: CpuReducer = {
    ...native,
    accumulate: (...args) => { calls.accumulate++; native.accumulate(...args); },
    finishAverage: (...args) => { calls.finishAverage++; native.finishAverage(...args); },
  };
  useCpuReducer(counting);
  const comms = await createWorld(3);
  try {
    for (const op of ['sum', 'avg'] as const) {
      const data = comms.map((_, rank) => Float32Array.from({ length: 1000 }, (_, i) => rank * 3 + (i % 5)));
      await Promise.all(comms.map((comm, rank) => comm.allReduce(data[rank]!, data[rank]!, 1000, 'float32', op)));
      const expected = Float32Array.from({ length: 1000 }, (_, i) => (op === 'sum' ? 9 + 3 * (i % 5) : (9 + 3 * (i % 5)) * Math.fround(1 / 3)));
      for (const result of data) assert.equal(Array.from(result), Array.from(expected).map(Math.fround), op);
    }
  } finally {
    useCpuReducer(native);
    await destroyWorld(comms);
  }
  assert.ok(calls.accumulate > 0, 'accumulate went through the reducer');
  assert.ok(calls.finishAverage > 0, 'finishAverage went through the reducer');
});

test('without the addon (WEBCCL_NATIVE=0) the Node entry keeps TypeScript', () => {
  const child = spawnSync(process.execPath, ['--import', './test/register.mjs', '--input-type=module', '-e', `
    await import('./lib/index.node.ts');
    const { cpuReducer } = await import('./lib/cpu/cpu-reducer.ts');
    console.log(cpuReducer().name);
  `], { env: { ...process.env, WEBCCL_NATIVE: '0' }, encoding: 'utf8', timeout: 60_000 });
  assert.is(child.stdout.trim(), 'typescript', child.stderr);
});

test.run();
