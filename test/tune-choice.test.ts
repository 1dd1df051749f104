// The cost model choosing in a communicator: with a tuning file, 'auto' runs the model's pick
// and logs it at INFO once per size class; compression 'auto' with a tolerance takes a codec
// whose bound fits; an explicit algorithm still wins. Every rank chooses alike (a disagreement
// would fail the call with InvalidUsage).
process.env['WEBCCL_DEBUG'] = 'INFO';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Communicator, getUniqueId } from '../lib/index.node.js';
import { cpuReducer, useCpuReducer } from '../lib/cpu/cpu-reducer.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { tuningFileText } from '../lib/tune/tuning-file.js';
import { rejects } from './helpers/assert.js';

const lines: string[] = [];
const consoleError = console.error;
console.error = (...args: unknown[]) => { lines.push(args.join(' ')); };

async function world(size: number, params: CostParams): Promise<Communicator[]> {
  const id = await getUniqueId({ transport: 'inproc' });
  const tuning = tuningFileText({ size, transport: 'inproc', device: 'cpu' }, params, 1);
  return Promise.all(Array.from({ length: size }, (_, rank) => Communicator.init({ id, rank, size, tuning, chunkBytes: 65536 })));
}

type Options = Parameters<Communicator['allReduce']>[5];

async function allReduce(comms: readonly Communicator[], count: number, options?: Options): Promise<Float32Array[]> {
  const outs = comms.map(() => new Float32Array(count));
  const input = (r: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(i + r) + r);
  await Promise.all(comms.map((comm, r) => comm.allReduce(input(r), outs[r]!, count, 'float32', 'sum', options)));
  return outs;
}

const chose = () => lines.filter((line) => line.includes('the cost model chose'));

test('with a tuning file, auto logs the model decision once per size class and every rank gets the same result', async () => {
  const comms = await world(4, { ...DEFAULT_COST_PARAMS, alpha: 1e-4, beta: 1e-9 });
  try {
    lines.length = 0;
    await allReduce(comms, 2);
    await allReduce(comms, 2);
    await allReduce(comms, 3);
    const small = chose();
    // One line per rank for the 8-byte class (2 and 3 elements: 8 and 12 bytes are classes 2^3 and 2^4).
    assert.is(small.filter((line) => line.includes('size class 2^3')).length, 4, small.join('\n'));
    assert.is(small.filter((line) => line.includes('size class 2^4')).length, 4, small.join('\n'));
    assert.ok(small.every((line) => /chose direct, predicted [\d.]+ us/.test(line)), small.join('\n'));
    lines.length = 0;
    const outs = await allReduce(comms, 1 << 18);
    assert.ok(chose().every((line) => line.includes('chose ring')), chose().join('\n'));
    for (const out of outs) assert.equal(out, outs[0]);
  } finally {
    await Promise.all(comms.map((comm) => comm.destroy()));
  }
});

test("an out-of-place call's predicted time carries its copy of the send buffer (params.copy), an in-place call's none", async () => {
  const params = { ...DEFAULT_COST_PARAMS, alpha: 1e-4, beta: 1e-9, copy: 1e-7 };
  const count = 4096;
  const predicted = () => chose().map((line) => Number(/predicted ([\d.]+) us/.exec(line)?.[1]));
  const times: number[][] = [];
  for (const inPlace of [true, false]) {
    const comms = await world(2, params);
    try {
      lines.length = 0;
      if (inPlace) await Promise.all(comms.map((comm) => { const data = new Float32Array(count).fill(1); return comm.allReduce(data, data, count, 'float32', 'sum'); }));
      else await allReduce(comms, count);
      times.push(predicted());
    } finally {
      await Promise.all(comms.map((comm) => comm.destroy()));
    }
  }
  const [inPlace, outOfPlace] = times as [number[], number[]];
  assert.is(inPlace.length, 2, chose().join('\n'));
  assert.is(outOfPlace.length, 2);
  // 16 KiB at 0.1 µs/B (the parameters are no one-thread world's: one rank's copy).
  for (let r = 0; r < 2; r++) assert.ok(Math.abs(outOfPlace[r]! - inPlace[r]! - 4 * count * 0.1) < 1, `${outOfPlace[r]} against ${inPlace[r]}`);
});

test("compression 'auto': a slow link and a loose tolerance take int8; tolerance 0 keeps the result exact; a named algorithm wins", async () => {
  const comms = await world(4, { ...DEFAULT_COST_PARAMS, alpha: 1e-4, beta: 1e-7 });
  try {
    const count = 1 << 16;
    lines.length = 0;
    const exact = await allReduce(comms, count);
    const loose = await allReduce(comms, count, { compression: 'auto', tolerance: 0.05 });
    assert.ok(chose().some((line) => line.includes('with codec int8')), chose().join('\n'));
    let worst = 0;
    for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(loose[0]![i]! - exact[0]![i]!));
    assert.ok(worst > 0, 'int8 is lossy');
    assert.ok(worst <= 0.05 * 4 * 4, `error ${worst} within the bound`);
    for (const out of loose) assert.equal(out, loose[0]);
    const strict = await allReduce(comms, count, { compression: 'auto', tolerance: 0 });
    assert.equal(strict[0], exact[0]);
    lines.length = 0;
    await allReduce(comms, count, { compression: 'auto', tolerance: 0.05, algorithm: 'tree' });
    assert.ok(chose().length > 0 && chose().every((line) => line.includes('chose tree with codec int8')), chose().join('\n'));
    await rejects(allReduce(comms, 4, { compression: 'auto', tolerance: -1 }), /tolerance -1 is not a number >= 0/);
  } finally {
    await Promise.all(comms.map((comm) => comm.destroy().catch(() => undefined)));
  }
});

test("a call's own chunk size (calibration's by-reference probe): the same sums; one that is no whole number of bytes >= 16 is refused, naming it", async () => {
  const comms = await world(3, { ...DEFAULT_COST_PARAMS });
  try {
    const count = 50000;
    const plain = await allReduce(comms, count, { algorithm: 'ring' });
    for (const chunkBytes of [16, 4096, 1 << 20]) {
      const own = await allReduce(comms, count, { algorithm: 'ring', chunkBytes });
      for (const out of own) assert.equal(out, plain[0], `chunk ${chunkBytes}`);
    }
    for (const bad of [8, 100.5, -64, Number.NaN]) await rejects(allReduce(comms, 4, { algorithm: 'ring', chunkBytes: bad }), new RegExp(`chunkBytes ${String(bad).replace('.', '\\.')} is not an integer >= 16 bytes`));
  } finally {
    await Promise.all(comms.map((comm) => comm.destroy().catch(() => undefined)));
  }
});

test("uncalibrated, compression 'auto' prices codecs at rank 0's loops: the addon's take int8 at the defaults' 1 GB/s link, the TypeScript ones none", async () => {
  const native = cpuReducer();
  assert.is(native.codecLoops, 'native', `the Node entry installs the addon's loops (${native.name})`);
  const uncalibrated = async () => {
    const id = await getUniqueId({ transport: 'inproc' });
    return Promise.all(Array.from({ length: 4 }, (_, rank) => Communicator.init({ id, rank, size: 4, chunkBytes: 65536 })));
  };
  const count = 1 << 18;
  const withNative = await uncalibrated();
  try {
    assert.is(withNative[0]!.config.codecLoops, 'native');
    lines.length = 0;
    await allReduce(withNative, count, { compression: 'auto', tolerance: 0.05 });
    assert.ok(chose().length === 4 && chose().every((line) => line.includes('with codec int8')), chose().join('\n'));
    // Agreed at init: a rank whose own loops differ later still prices as rank 0 did.
    useCpuReducer(undefined);
    lines.length = 0;
    await allReduce(withNative, count + 1, { compression: 'auto', tolerance: 0.05 });
    assert.ok(chose().length === 4 && chose().every((line) => line.includes('with codec int8')), chose().join('\n'));
    const withTypeScript = await uncalibrated();
    try {
      assert.is(withTypeScript[0]!.config.codecLoops, undefined);
      lines.length = 0;
      await allReduce(withTypeScript, count, { compression: 'auto', tolerance: 0.05 });
      assert.ok(chose().length === 4 && chose().every((line) => line.includes('with codec none')), chose().join('\n'));
    } finally {
      await Promise.all(withTypeScript.map((comm) => comm.destroy().catch(() => undefined)));
    }
  } finally {
    useCpuReducer(native);
    await Promise.all(withNative.map((comm) => comm.destroy().catch(() => undefined)));
  }
});

test.after(() => { console.error = consoleError; });
test.run();
