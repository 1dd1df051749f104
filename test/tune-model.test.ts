// The cost model (lib/tune/model.ts over the formulas beside each schedule) and the choice it
// drives under 'auto' (lib/tune/select.ts): structure and orderings, never measured times.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CODECS, codecNamed } from '../lib/collectives/codecs.js';
import { candidates, predictSeconds } from '../lib/tune/model.js';
import { fitLatencyBandwidth } from '../lib/tune/calibrate.js';
import { checkCostParams, DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { chooseAlgorithm, type TuningConfig } from '../lib/tune/select.js';

const params: CostParams = { ...DEFAULT_COST_PARAMS, alpha: 100e-6, beta: 1e-9, gamma: 0.5e-9 };
const tuned: TuningConfig = { algorithm: 'auto', treeThresholdBytes: 65536, directThresholdBytes: 32768, chunkBytes: 1 << 20, tuning: { params, digest: 'x' } };
const call = (bytes: number, ranks: number) => ({ collective: 'allReduce' as const, bytes, ranks, chunkBytes: 1 << 20 });

test('ring: 2(n-1) messages of bytes/n and 2(n-1)/n of the bytes on the link', () => {
  const unit: CostParams = { ...params, call: 0, alpha: 1, beta: 0, gamma: 0 };
  assert.is(predictSeconds('ring', call(4096, 4), unit), 6);
  const perByte: CostParams = { ...params, call: 0, alpha: 0, beta: 1, gamma: 0 };
  assert.is(predictSeconds('ring', call(4096, 4), perByte), 6 * 1024);
  assert.is(predictSeconds('direct', call(4096, 4), perByte), 3 * 4096);
  assert.is(predictSeconds('ring', call(4096, 1), unit), 0);
  assert.is(predictSeconds('ring', call(4096, 4), { ...unit, call: 10 }), 16);
});

test('predictions grow with bytes; every allReduce row with a formula is priced, the switch only with an address', () => {
  for (const algorithm of ['ring', 'tree', 'direct']) {
    let last = -1;
    // The direct exchange's formula stops where its messages pass an eighth of a chunk.
    for (let bytes = 8; bytes <= (algorithm === 'direct' ? (1 << 17) / 3 : 1 << 26); bytes *= 4) {
      const t = predictSeconds(algorithm, call(bytes, 4), params)!;
      assert.ok(t > last, `${algorithm} ${bytes}`);
      last = t;
    }
  }
  assert.is(predictSeconds('direct', call((1 << 17) / 3 + 8, 4), params), undefined);
  assert.equal(candidates(call(1 << 20, 4), params, { aggregator: false }).map((c) => c.algorithm).sort(), ['ring', 'tree']);
  assert.equal(candidates(call(8, 4), params, { aggregator: false }).map((c) => c.algorithm).sort(), ['direct', 'ring', 'tree']);
  assert.ok(candidates(call(8, 4), params, { aggregator: true }).some((c) => c.algorithm === 'switch'));
  // The switch refuses max: it is not a candidate for it.
  assert.not.ok(candidates(call(8, 4), params, { aggregator: true, call: { dtype: 'float32', op: 'max' } }).some((c) => c.algorithm === 'switch'));
});

test("'auto' with calibrated parameters: direct for tiny, ring for large; an explicit choice wins", () => {
  assert.is(chooseAlgorithm('allReduce', 8, 4, tuned).algorithm, 'direct');
  assert.is(chooseAlgorithm('allReduce', 64 << 20, 4, tuned).algorithm, 'ring');
  assert.ok(chooseAlgorithm('allReduce', 64 << 20, 4, tuned).predicted! > 0);
  assert.is(chooseAlgorithm('allReduce', 8, 4, tuned, 'ring').algorithm, 'ring');
  assert.is(chooseAlgorithm('allReduce', 8, 4, { ...tuned, algorithm: 'tree' }).algorithm, 'tree');
  // A slow link (large beta) moves the ring/tree crossing: the choice follows the parameters.
  const crossing = (p: CostParams) => {
    const config = { ...tuned, tuning: { params: p, digest: 'x' } };
    let bytes = 8;
    while (chooseAlgorithm('allReduce', bytes, 8, config).algorithm !== 'ring' && bytes < 1 << 30) bytes *= 2;
    return bytes;
  };
  assert.ok(crossing({ ...params, alpha: 1e-3 }) > crossing({ ...params, alpha: 1e-6 }));
  // Without parameters the size thresholds hold, as before.
  const { tuning: _unused, ...plain } = tuned;
  assert.is(chooseAlgorithm('allReduce', 40000, 4, plain).algorithm, 'tree');
});

test("a codec offer: the model takes a smaller codec when the link is slow, none when it is fast; unbounded codecs are never offered", () => {
  const offer = { codecs: CODECS.filter((c) => c.relativeErrorBound !== undefined && c.relativeErrorBound(4) <= 0.05) };
  assert.equal(offer.codecs.map((c) => c.name), ['none', 'bf16', 'int8', 'switchml']);
  const slowLink = { ...tuned, tuning: { params: { ...params, beta: 1e-7 }, digest: 'x' } };
  assert.is(chooseAlgorithm('allReduce', 16 << 20, 4, slowLink, undefined, { dtype: 'float32', op: 'sum' }, offer).codec?.name, 'int8');
  const fastLink = { ...tuned, tuning: { params: { ...params, beta: 1e-12 }, digest: 'x' } };
  assert.is(chooseAlgorithm('allReduce', 16 << 20, 4, fastLink, undefined, { dtype: 'float32', op: 'sum' }, offer).codec?.name, 'none');
  assert.is(codecNamed('onebit')!.relativeErrorBound, undefined);
  assert.is(codecNamed('fp16')!.relativeErrorBound, undefined);
});

test('parameters from a file are checked field by field', () => {
  assert.equal(checkCostParams(JSON.parse(JSON.stringify(params))), params);
  assert.throws(() => checkCostParams({ ...params, alpha: -1 }), /alpha -1 is not a number of seconds/);
  assert.throws(() => checkCostParams({ ...params, memory: 'tpu' }), /memory "tpu"/);
  assert.throws(() => checkCostParams({ ...params, codecs: { zip: { encode: 0, decode: 0 } } }), /'zip', which is no codec/);
  assert.throws(() => checkCostParams('[1,2'), /not an object/);
});

test('calibration fit: exact samples give back call, alpha and beta; a negative fit is refitted without that term', () => {
  const truth = [30e-6, 80e-6, 2e-9];
  const samples = [[1, 2, 8], [1, 6, 3e6], [1, 4, 1e6], [1, 12, 8e6], [1, 3, 100]].map((terms) => ({
    terms: terms as [number, number, number], seconds: terms[0]! * truth[0]! + terms[1]! * truth[1]! + terms[2]! * truth[2]!,
  }));
  const fitted = fitLatencyBandwidth(samples);
  fitted.forEach((value, i) => assert.ok(Math.abs(value - truth[i]!) <= 1e-6 * truth[i]! + 1e-15, `${i}: ${value} vs ${truth[i]}`));
  // Times that fall as messages grow would need a negative alpha: it is dropped, the rest still fits.
  const odd = fitLatencyBandwidth([{ terms: [1, 2, 0], seconds: 2 }, { terms: [1, 6, 0], seconds: 1 }, { terms: [1, 4, 1e6], seconds: 3 }]);
  assert.ok(odd.every((v) => v >= 0), String(odd));
  assert.is(odd[1], 0);
});

test('calibration fit: call and alpha come from the few-byte runs alone; large runs the formulas get wrong move only beta', () => {
  const [call, alpha, beta] = [30e-6, 80e-6, 2e-9];
  const time = (t: readonly number[], off = 1) => (t[0]! * call + t[1]! * alpha + t[2]! * beta) * off;
  // Exact few-byte runs (direct, tree, ring at 4 ranks); large runs 0.7-1.6x off their formula,
  // as the tree's link bytes are at 16 chunks: a joint fit bent call and alpha by far more.
  const small = [[1, 3, 24], [1, 4, 16], [1, 6, 12]].map((terms) => ({ terms: terms as [number, number, number], seconds: time(terms) }));
  const large = ([[[1, 6, 786432], 1.3], [[1, 8, 8388608], 1.6], [[1, 24, 25165824], 0.7], [[1, 3, 129024], 1.4]] as const)
    .map(([terms, off]) => ({ terms: terms as unknown as [number, number, number], seconds: time(terms, off) }));
  const fitted = fitLatencyBandwidth([...small, ...large]);
  assert.ok(Math.abs(fitted[0] - call) <= 1e-3 * call, `call ${fitted[0]}`);
  assert.ok(Math.abs(fitted[1] - alpha) <= 1e-3 * alpha, `alpha ${fitted[1]}`);
  assert.ok(fitted[2] > 0.7 * beta && fitted[2] < 1.6 * beta, `beta ${fitted[2]}`);
});

test.run();
