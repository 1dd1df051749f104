// The cost model (lib/tune/model.ts over the formulas beside each schedule) and the choice it
// drives under 'auto' (lib/tune/select.ts): structure and orderings, never measured times.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CODECS, codecNamed } from '../lib/collectives/codecs.js';
import { algorithmNamed, type ScheduledCollective } from '../lib/collectives/algorithms.js';
import { callTraffic, candidates, EXTRAPOLATED_TIE, predictSeconds, pricedPastCurve, sentLinkBytes } from '../lib/tune/model.js';
import { fitLatencyBandwidth } from '../lib/tune/calibrate.js';
import { checkCostParams, DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { chooseAlgorithm, type TuningConfig } from '../lib/tune/select.js';

const params: CostParams = { ...DEFAULT_COST_PARAMS, alpha: 60e-6, overhead: 40e-6, beta: 1e-9, gamma: 0.5e-9 };
const tuned: TuningConfig = { algorithm: 'auto', treeThresholdBytes: 65536, directThresholdBytes: 32768, chunkBytes: 1 << 20, tuning: { params, digest: 'x' } };
const call = (bytes: number, ranks: number) => ({ collective: 'allReduce' as const, bytes, ranks, chunkBytes: 1 << 20 });

test('ring: 2(n-1) messages of bytes/n and 2(n-1)/n of the bytes on the link', () => {
  const unit: CostParams = { ...params, call: 0, alpha: 1, overhead: 0, beta: 0, gamma: 0 };
  assert.is(predictSeconds('ring', call(4096, 4), unit), 6);
  // o: the same 6 sends (the ring's first step does the agreement check: no send beside it); the direct exchange's 3 at once pay α once.
  const perSend: CostParams = { ...unit, alpha: 0, overhead: 1 };
  assert.is(predictSeconds('ring', call(4096, 4), perSend), 6);
  // The chain broadcast's one chunk, and the agreement check's send beside it (its root reads nothing).
  assert.is(predictSeconds('ring', { ...call(4096, 4), collective: 'broadcast' }, perSend), 2);
  assert.is(predictSeconds('direct', call(4096, 4), perSend), 3);
  assert.is(predictSeconds('direct', call(4096, 4), unit), 1);
  const perByte: CostParams = { ...params, call: 0, alpha: 0, overhead: 0, beta: 1, gamma: 0 };
  assert.is(predictSeconds('ring', call(4096, 4), perByte), 6 * 1024);
  assert.is(predictSeconds('direct', call(4096, 4), perByte), 3 * 4096);
  assert.is(predictSeconds('ring', call(4096, 1), unit), 0);
  assert.is(predictSeconds('ring', call(4096, 4), { ...unit, call: 10 }), 16);
});

test("the ring's reduce-scatter and all-gather, halves of its allreduce, are priced at that allreduce's point of the β curve", () => {
  // β falls from 4 ns/B at 96 KiB of link bytes to 1 ns/B at 384 KiB (the ring allreduce of 64 and 256 KiB at 4 ranks).
  const curve: CostParams = { ...params, call: 0, alpha: 0, overhead: 0, gamma: 0, betaCurves: { ring: [{ linkBytes: 96 << 10, beta: 4e-9 }, { linkBytes: 384 << 10, beta: 1e-9 }] } };
  // 64 KiB a rank: 192 KiB on the link, priced at the 256 KiB allreduce's 1 ns/B, not at 192 KiB's point (2 ns/B between the two).
  for (const collective of ['allGather', 'reduceScatter'] as const) {
    const half = { ...call(64 << 10, 4), collective };
    assert.is(callTraffic('ring', half)!.linkBytes, 192 << 10);
    assert.ok(Math.abs(predictSeconds('ring', half, curve)! - (192 << 10) * 1e-9) < 1e-12, `${collective} ${predictSeconds('ring', half, curve)}`);
  }
  // The allreduce itself at its own link bytes; past the curve's last point is where its allreduce lies past it.
  assert.ok(Math.abs(predictSeconds('ring', call(256 << 10, 4), curve)! - (384 << 10) * 1e-9) < 1e-12);
  assert.ok(pricedPastCurve('ring', { ...call(80 << 10, 4), collective: 'allGather' }, curve));
  assert.not.ok(pricedPastCurve('ring', { ...call(64 << 10, 4), collective: 'allGather' }, curve));
});

test("calls back to back (webccl-perf's timing): a rooted pipeline costs one stage's chunks (its period), not the chain's fill; an allreduce, whose ranks finish together, the same as alone", () => {
  const unit: CostParams = { ...params, call: 0, alpha: 1, overhead: 0, beta: 0, gamma: 0 };
  const perByte: CostParams = { ...unit, alpha: 0, beta: 1 };
  const stream = { backToBack: true } as const;
  // 4 ranks, 6 MiB at a 1 MiB chunk: the chain's 3 hops + 6 chunks - 1 alone, the 6 chunks back to back.
  const chain = { ...call(6 << 20, 4), collective: 'broadcast' as const };
  assert.is(predictSeconds('ring', chain, unit), 8);
  assert.is(predictSeconds('ring', { ...chain, ...stream }, unit), 6);
  assert.is(predictSeconds('ring', chain, perByte), 8 << 20);
  assert.is(predictSeconds('ring', { ...chain, ...stream }, perByte), 6 << 20);
  // The tree's root sends each chunk to both its children: twice the bytes a call, back to back too.
  assert.is(predictSeconds('tree', { ...chain, ...stream }, perByte), 12 << 20);
  assert.is(predictSeconds('ring', { ...chain, collective: 'reduce', ...stream }, unit), 6);
  // A call of fewer chunks than the pipeline depth (4) goes in 4 pieces, down to a quarter chunk:
  // 1 MiB in 4 of 256 KiB (3 hops + 4 - 1 alone, 4 back to back), 512 KiB in 2 of 256 KiB.
  const one = { ...call(1 << 20, 4), collective: 'broadcast' as const };
  assert.is(predictSeconds('ring', one, unit), 6);
  assert.is(predictSeconds('ring', one, perByte), 6 << 18);
  assert.is(predictSeconds('ring', { ...one, ...stream }, unit), 4);
  assert.is(predictSeconds('ring', { ...one, bytes: 1 << 19 }, unit), 4);
  for (const algorithm of ['ring', 'tree', 'direct']) assert.is(predictSeconds(algorithm, { ...call(3 << 20, 4), ...stream }, params), predictSeconds(algorithm, call(3 << 20, 4), params), algorithm);
});

test("the agreement check's send is counted where the communicator runs it (needsAgreementCheck), and only there", () => {
  const extra = (algorithm: string, collective: ScheduledCollective, bytes: number, ranks: number) => {
    const c = { ...call(bytes, ranks), collective };
    const formula = algorithmNamed(algorithm)?.traffic?.[collective];
    if (!formula) throw new Error(`${algorithm} has no ${collective} formula`);
    return callTraffic(algorithm, c)!.sends - formula(c)!.sends;
  };
  for (const collective of ['allReduce', 'allGather', 'reduceScatter'] as const) {
    assert.is(extra('ring', collective, 4096, 4), 0, `ring ${collective}`);
    // A call without elements sends nothing of its own.
    assert.is(extra('ring', collective, 0, 4), 1, `empty ring ${collective}`);
  }
  for (const collective of ['broadcast', 'reduce'] as const) {
    assert.is(extra('ring', collective, 4096, 4), 1, `ring ${collective}`);
    assert.is(extra('tree', collective, 4096, 4), 1, `tree ${collective}`);
  }
  assert.is(extra('tree', 'allReduce', 4096, 4), 1);
  assert.is(extra('direct', 'allReduce', 0, 4), 0);
  assert.is(extra('tree', 'allReduce', 4096, 1), 0);
});

test('mesh: two hops of n-1 messages at once, the ring\'s bytes; priced under the agreed mesh threshold only, where tuned auto takes it', () => {
  const unit: CostParams = { ...params, call: 0, alpha: 1, overhead: 0, beta: 0, gamma: 0 };
  // alpha twice (the reduce-scatter's hop, the all-gather's), against the ring's 2(n-1) steps; o for each of the 2(n-1) messages.
  assert.is(predictSeconds('mesh', call(4096, 4), unit), 2);
  assert.is(predictSeconds('mesh', call(4096, 4), { ...unit, alpha: 0, overhead: 1 }), 6);
  assert.is(predictSeconds('mesh', call(4096, 4), { ...unit, alpha: 0, beta: 1 }), 4096 + 2 * 1024);
  assert.is(predictSeconds('mesh', call(4096, 2), unit), undefined, 'at 2 ranks the ring is the same two hops');
  // Segments past a quarter chunk are whole messages the ring would pipeline: not priced.
  assert.is(predictSeconds('mesh', call(1 << 20, 4), unit), 2, '256 KiB segments: a quarter of the 1 MiB chunk');
  assert.is(predictSeconds('mesh', call((1 << 20) + 64, 4), unit), undefined);
  const meshTuned: TuningConfig = { ...tuned, meshThresholdBytes: 4 << 20 };
  assert.is(chooseAlgorithm('allReduce', 1 << 20, 4, meshTuned).algorithm, 'mesh');
  assert.ok(chooseAlgorithm('allReduce', 1 << 20, 4, meshTuned).predicted! < predictSeconds('ring', call(1 << 20, 4), params)!);
  // Not past the threshold, not without one (tcp, shm: calibration never times the mesh), not at 2 ranks.
  assert.is.not(chooseAlgorithm('allReduce', 1 << 20, 4, { ...meshTuned, meshThresholdBytes: (1 << 20) - 4 }).algorithm, 'mesh');
  assert.is.not(chooseAlgorithm('allReduce', 1 << 20, 4, tuned).algorithm, 'mesh');
  assert.is.not(chooseAlgorithm('allReduce', 1 << 20, 2, meshTuned).algorithm, 'mesh');
  assert.not.ok(candidates(call(1 << 20, 4), params, { aggregator: false }).some((c) => c.algorithm === 'mesh'));
  // The tiniest calls keep the direct exchange's one hop.
  assert.is(chooseAlgorithm('allReduce', 8, 4, meshTuned).algorithm, 'direct');
});

test("the direct exchange's reach: an eighth of a chunk over its messages, each at most 64 KiB, whatever the chunk (ntcp's and shm's are 4-32 MiB)", () => {
  const KiB = 1024;
  const at = (bytes: number, ranks: number, chunkBytes: number) => callTraffic('direct', { collective: 'allReduce', bytes, ranks, chunkBytes });
  for (const [ranks, chunkBytes, reach] of [[2, 1 << 20, 64 * KiB], [4, 1 << 20, (128 * KiB) / 3], [2, 4 << 20, 64 * KiB], [2, 8 << 20, 64 * KiB], [4, 16 << 20, 64 * KiB], [8, 32 << 20, 64 * KiB]] as const) {
    const within = Math.floor(reach / 4) * 4;
    assert.ok(at(within, ranks, chunkBytes), `${ranks} ranks, chunk ${chunkBytes}: priced at ${within} B`);
    assert.is(at(within + 4, ranks, chunkBytes), undefined, `${ranks} ranks, chunk ${chunkBytes}: not past ${reach} B`);
  }
  // So a world whose calibration priced the direct exchange cheapest at 256 KiB (2 ntcp ranks' lower quartiles) runs the ring or the tree there.
  const cheapDirect: CostParams = { ...DEFAULT_COST_PARAMS, betaCurves: { direct: [{ linkBytes: 16 * KiB, beta: 1e-12 }] } };
  const config: TuningConfig = { algorithm: 'auto', treeThresholdBytes: 0, directThresholdBytes: 0, chunkBytes: 4 << 20, tuning: { params: cheapDirect, digest: 'test' } };
  assert.is(chooseAlgorithm('allReduce', 64 * KiB, 2, config).algorithm, 'direct');
  assert.is.not(chooseAlgorithm('allReduce', 256 * KiB, 2, config).algorithm, 'direct');
});

test('predictions grow with bytes; every allReduce row with a formula is priced, the switch only with an address', () => {
  for (const algorithm of ['ring', 'tree', 'direct']) {
    let last = -1;
    // The direct exchange's formula stops where its messages pass an eighth of a chunk (each at most 64 KiB: directReachBytes).
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

test("the board: its own fixed cost where calibration timed it, not call + alpha; on GPU memory a host board call on the staged buffer", () => {
  const boardCall = { collective: 'allReduce' as const, bytes: 8, ranks: 4, chunkBytes: 1 << 20 };
  const unpriced = predictSeconds('board', boardCall, params)!;
  // Without its own figure: the communicator's call and one alpha per synchronization, as before.
  assert.ok(Math.abs(unpriced - (params.call + params.alpha + 8 * params.beta + 24 * params.gamma)) < 1e-12, String(unpriced));
  const own: CostParams = { ...params, board: { call: 20e-6 }, betaCurves: { board: [{ linkBytes: 1, beta: 0.1e-9 }] } };
  assert.ok(Math.abs(predictSeconds('board', boardCall, own)! - (20e-6 + 8 * 0.1e-9 + 24 * params.gamma)) < 1e-12);
  // GPU memory: the device folds slowly (gamma_gpu 2 ns/B), the board folds in host memory after one read and one write of the buffer.
  const gpu: CostParams = { ...own, gpu: { call: 500e-6, message: 50e-6, stage: 1e-9, gamma: 2e-9 } };
  const big = { ...boardCall, bytes: 2 << 20, ranks: 2, memory: 'gpu' as const };
  const host = predictSeconds('board', { ...big, memory: 'cpu' }, gpu)!;
  assert.ok(Math.abs(predictSeconds('board', big, gpu)! - (host + 500e-6 + (2 << 20) * 1e-9)) < 1e-12);
  // So the model takes the board for it, where priced as a schedule of messages on the device it lost to the ring.
  const [first] = candidates(big, gpu, { aggregator: false, call: { dtype: 'float32', op: 'sum', board: true } });
  assert.is(first?.algorithm, 'board');
});

test("the board's other collectives: each at its own fixed cost where calibration timed it, the allreduce's where it did not (older files)", () => {
  const own: CostParams = { ...params, board: { call: 20e-6, collectives: { reduceScatter: 90e-6, allGather: 60e-6 } }, betaCurves: { board: [{ linkBytes: 1, beta: 0 }] } };
  const at = (collective: ScheduledCollective, p: CostParams) => predictSeconds('board', { collective, bytes: 8, ranks: 4, chunkBytes: 1 << 20 }, p)!;
  // Zero beta: a few-byte call is its fixed cost plus its folds (reduce-scatter: n-1 blocks of 8 bytes).
  assert.ok(Math.abs(at('reduceScatter', own) - (90e-6 + 3 * 8 * params.gamma)) < 1e-12, `reduceScatter ${at('reduceScatter', own)}`);
  assert.ok(Math.abs(at('allGather', own) - 60e-6) < 1e-12);
  // Not timed: the allreduce's figure, as before.
  assert.ok(Math.abs(at('broadcast', own) - 20e-6) < 1e-12);
  assert.ok(Math.abs(at('allReduce', own) - (20e-6 + 24 * params.gamma)) < 1e-12);
  const older: CostParams = { ...own, board: { call: 20e-6 } };
  assert.ok(Math.abs(at('reduceScatter', older) - (20e-6 + 24 * params.gamma)) < 1e-12);
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
  // The board's per-collective fixed costs: optional (older files), named collectives only, seconds each.
  const board = { ...params, board: { call: 1e-4, collectives: { reduceScatter: 2e-4, reduce: 3e-4 } } };
  assert.equal(checkCostParams(JSON.parse(JSON.stringify(board))), board);
  assert.equal(checkCostParams(JSON.parse(JSON.stringify({ ...params, board: { call: 1e-4 } }))).board, { call: 1e-4 });
  assert.throws(() => checkCostParams({ ...params, board: { call: 1e-4, collectives: { allToAll: 1e-4 } } }), /board\.collectives\.allToAll is not one of reduceScatter, allGather, broadcast, reduce/);
  assert.throws(() => checkCostParams({ ...params, board: { call: 1e-4, collectives: { reduce: -1 } } }), /board\.collectives\.reduce -1 is not a number of seconds/);
  assert.throws(() => checkCostParams({ ...params, board: { call: 1e-4, collectives: [1] } }), /board\.collectives is not an object/);
});

test("messages by reference: each of the schedule's messages at or past the threshold costs phi, counted by the chunk the schedule cuts (not the agreement check's); none below it", () => {
  const perRef: CostParams = { ...params, call: 0, alpha: 0, overhead: 0, beta: 0, gamma: 0, reference: { bytes: (512 << 10) + 1, message: 1 } };
  const shm = (bytes: number, ranks: number) => ({ collective: 'allReduce' as const, bytes, ranks, chunkBytes: 8 << 20 });
  // 4 ranks, 8 MiB chunks: the ring's 2(n-1) steps per pipeline, messages of 2 MiB at 16 MiB (2 pipelines),
  // 4 MiB at 64 MiB (4), 8 MiB at 256 MiB (8): 12, 24, 48 by reference.
  assert.is(predictSeconds('ring', shm(16 << 20, 4), perRef), 12);
  assert.is(predictSeconds('ring', shm(64 << 20, 4), perRef), 24);
  assert.is(predictSeconds('ring', shm(256 << 20, 4), perRef), 48);
  // 2 MiB at 4 ranks: 512 KiB segments, one message each, on the ring path.
  assert.is(predictSeconds('ring', shm(2 << 20, 4), perRef), 0);
  // The tree's halves of 8 MiB at 16 MiB: one 8 MiB chunk each, sent by reference.
  const tree = callTraffic('tree', shm(16 << 20, 4))!;
  assert.is(tree.referenceBytes, 8 << 20);
  assert.is(predictSeconds('tree', shm(16 << 20, 4), perRef), tree.referenceSends);
  // The reduce-scatter's and all-gather's blocks, and a broadcast's chunks.
  assert.is(predictSeconds('ring', { ...shm(16 << 20, 4), collective: 'reduceScatter' }, perRef), 3 * 4);
  // A broadcast's pieces: 16 MiB at the 8 MiB chunk goes in the pipeline depth's 4 pieces of 4 MiB.
  assert.is(predictSeconds('ring', { ...shm(16 << 20, 4), collective: 'broadcast' }, perRef), 4);
  // The board sends no message.
  assert.is(predictSeconds('board', shm(16 << 20, 4), { ...perRef, board: { call: 0 } }), 0);
});

test("parameters without a by-reference term (every file before it, and every transport without a threshold) price as before; a bad one is refused", () => {
  const old = checkCostParams(JSON.parse(JSON.stringify(params)));
  assert.is(old.reference, undefined);
  for (const [algorithm, bytes] of [['ring', 256 << 20], ['tree', 16 << 20], ['ring', 4096]] as const) {
    const t = callTraffic(algorithm, call(bytes, 4))!;
    assert.is(predictSeconds(algorithm, call(bytes, 4), old), params.call + t.messages * params.alpha + t.sends * params.overhead + t.linkBytes * params.beta + t.reducedBytes * params.gamma);
  }
  const withRef = { ...params, reference: { bytes: 524289, message: 3e-4 } };
  assert.equal(checkCostParams(JSON.parse(JSON.stringify(withRef))), withRef);
  assert.throws(() => checkCostParams({ ...params, reference: { bytes: -1, message: 3e-4 } }), /reference\.bytes -1 is not a whole number of bytes/);
  assert.throws(() => checkCostParams({ ...params, reference: { bytes: 1.5, message: 3e-4 } }), /reference\.bytes 1\.5/);
  assert.throws(() => checkCostParams({ ...params, reference: { bytes: 524289, message: 'slow' } }), /reference\.message "slow" is not a number of seconds/);
  assert.throws(() => checkCostParams({ ...params, reference: 3e-4 }), /reference is not an object/);
});

type Terms = [number, number, number, number];
const priced = (truth: readonly number[], terms: readonly number[], off = 1) => terms.reduce((sum, t, i) => sum + t * truth[i]!, 0) * off;

test('calibration fit: exact samples give back call, alpha, o and beta; a negative fit is refitted without that term', () => {
  const truth = [30e-6, 80e-6, 20e-6, 2e-9];
  // Few-byte direct, tree and ring runs at 4 ranks (1 hop of 3 sends; 4 hops, 5 sends; 6 hops, 7 sends), then larger ones.
  const samples = [[1, 1, 3, 24], [1, 4, 5, 16], [1, 6, 7, 8], [1, 6, 13, 3e6], [1, 4, 9, 1e6], [1, 12, 25, 8e6], [1, 1, 3, 100]].map((terms) => ({
    terms: terms as Terms, seconds: priced(truth, terms),
  }));
  const fitted = fitLatencyBandwidth(samples);
  fitted.forEach((value, i) => assert.ok(Math.abs(value - truth[i]!) <= 1e-6 * truth[i]! + 1e-15, `${i}: ${value} vs ${truth[i]}`));
  // Times that fall as messages grow would need a negative alpha: it is dropped, the rest still fits.
  const odd = fitLatencyBandwidth([{ terms: [1, 2, 2, 0], seconds: 2 }, { terms: [1, 6, 6, 0], seconds: 1 }, { terms: [1, 4, 4, 1e6], seconds: 3 }]);
  assert.ok(odd.every((v) => v >= 0), String(odd));
  assert.is(odd[1], 0);
});

test('calibration fit: with two ranks o and alpha cannot be told apart: alpha keeps both, call stays', () => {
  const truth = [30e-6, 100e-6, 0, 2e-9];
  // Tree: 2 hops, 3 sends (the agreement check's one beside them); direct: 1 hop, 1 send. sends = 2·hops − 1: dependent columns.
  const samples = [[1, 2, 3, 8], [1, 2, 3, 8], [1, 1, 1, 8], [1, 2, 3, 1e6]].map((terms) => ({ terms: terms as Terms, seconds: priced([30e-6, 80e-6, 10e-6, 2e-9], terms) }));
  const fitted = fitLatencyBandwidth(samples);
  assert.is(fitted[2], 0);
  // 80 + 10·(2·hops − 1)/hops per hop is not one figure: the least-squares α lies between, call near its truth.
  assert.ok(fitted[1] > 85e-6 && fitted[1] < 105e-6, `alpha ${fitted[1]}`);
  assert.ok(fitted[0] > 0 && fitted[0] < 2 * truth[0]!, `call ${fitted[0]}`);
});

test('calibration fit: with two ranks a ring nearly 3x the direct exchange is fitted by call and o (alpha dropped), not priced at 2x', () => {
  // 2 tcp ranks, 8 bytes: direct 185 us (1 hop, 1 send), ring and tree 520 us (2 hops, 3 sends). With
  // sends = 2·hops − 1, no call ≥ 0 and alpha fit both: the fit dropping o priced direct 40% over and the ring 20% under.
  const measured = [[[1, 1, 1, 8], 185e-6], [[1, 2, 3, 8], 520e-6], [[1, 2, 3, 8], 520e-6], [[1, 2, 3, 2e6], 520e-6 + 2e6 * 2e-9]] as const;
  const samples = measured.map(([terms, seconds]) => ({ terms: terms as unknown as Terms, seconds }));
  const fitted = fitLatencyBandwidth(samples);
  for (const [terms, seconds] of measured.slice(0, 2)) {
    const predicted = priced(fitted, terms);
    assert.ok(Math.abs(predicted - seconds) <= 0.01 * seconds, `${terms}: ${predicted} vs ${seconds} (fit ${fitted})`);
  }
  assert.ok(fitted.every((v) => v >= 0), String(fitted));
});

test('calibration fit: call, alpha and o come from the few-byte runs alone; large runs the formulas get wrong move only beta', () => {
  const truth = [30e-6, 80e-6, 20e-6, 2e-9];
  // Exact few-byte runs (direct, tree, ring at 4 ranks); large runs 0.7-1.6x off their formula,
  // as the tree's link bytes are at 16 chunks: a joint fit bent call and alpha by far more.
  const small = [[1, 1, 3, 24], [1, 4, 5, 16], [1, 6, 7, 12]].map((terms) => ({ terms: terms as Terms, seconds: priced(truth, terms) }));
  const large = ([[[1, 6, 13, 786432], 1.3], [[1, 8, 17, 8388608], 1.6], [[1, 24, 97, 25165824], 0.7], [[1, 1, 3, 129024], 1.4]] as const)
    .map(([terms, off]) => ({ terms: terms as unknown as Terms, seconds: priced(truth, terms, off) }));
  const fitted = fitLatencyBandwidth([...small, ...large]);
  for (const [i, name] of ['call', 'alpha', 'o'].entries()) assert.ok(Math.abs(fitted[i]! - truth[i]!) <= 1e-3 * truth[i]!, `${name} ${fitted[i]}`);
  assert.ok(fitted[3] > 0.7 * truth[3]! && fitted[3] < 1.6 * truth[3]!, `beta ${fitted[3]}`);
});

test('calibration fit: one stalled large run (10x its time) moves beta little: its weight is its bytes\' share of its time, squared', () => {
  const truth = [30e-6, 80e-6, 20e-6, 2e-9];
  const small = [[1, 1, 3, 24], [1, 4, 5, 16], [1, 6, 7, 12]].map((terms) => ({ terms: terms as Terms, seconds: priced(truth, terms) }));
  const large = (stall: number) => ([[[1, 6, 13, 786432], 1], [[1, 4, 9, 1048576], 1], [[1, 6, 25, 6291456], stall], [[1, 4, 17, 8388608], 1], [[1, 6, 49, 25165824], 1]] as const)
    .map(([terms, off]) => ({ terms: terms as unknown as Terms, seconds: priced(truth, terms, off) }));
  assert.ok(Math.abs(fitLatencyBandwidth([...small, ...large(1)])[3] - truth[3]!) <= 1e-6 * truth[3]!);
  const beta = fitLatencyBandwidth([...small, ...large(10)])[3];
  // The mean of the five runs' seconds per byte would be 2.8x.
  assert.ok(beta > truth[3]! && beta < 1.1 * truth[3]!, `beta ${beta}`);
});

test('past the calibrated curves, a near tie goes to the schedule of fewer link bytes (the ring, extrapolated or measured there); within them, or by more than the tie, the cheaper holds', () => {
  const MiB = 1 << 20;
  // Ring and tree curves to a 16 MiB allreduce at 4 ranks (24 and 32 MiB of link bytes), flat.
  const curves = (ringBeta: number, treeBeta: number): CostParams => ({
    ...params, call: 0, alpha: 0, overhead: 0, gamma: 0,
    betaCurves: { ring: [{ linkBytes: 6 * MiB, beta: ringBeta }, { linkBytes: 24 * MiB, beta: ringBeta }], tree: [{ linkBytes: 8 * MiB, beta: treeBeta }, { linkBytes: 32 * MiB, beta: treeBeta }] },
  });
  const price = (p: CostParams, bytes: number, algorithm: string) => predictSeconds(algorithm, call(bytes, 4), p)!;
  const first = (p: CostParams, bytes: number) => candidates(call(bytes, 4), p, { aggregator: false })[0]!.algorithm;
  const choice = (p: CostParams, bytes: number) => chooseAlgorithm('allReduce', bytes, 4, { ...tuned, tuning: { params: p, digest: 'x' } }).algorithm;
  // The tree priced 2% under the ring: a tie.
  const near = curves(1e-9, 0.98 * 0.75e-9);
  const [ring, tree] = [price(near, 128 * MiB, 'ring'), price(near, 128 * MiB, 'tree')];
  assert.ok(tree < ring && ring < tree * (1 + EXTRAPOLATED_TIE), `tree ${tree} ring ${ring}`);
  assert.ok(pricedPastCurve('ring', call(128 * MiB, 4), near) && pricedPastCurve('tree', call(128 * MiB, 4), near));
  assert.ok(sentLinkBytes('ring', call(128 * MiB, 4), near)! < sentLinkBytes('tree', call(128 * MiB, 4), near)!);
  assert.is(first(near, 128 * MiB), 'ring');
  assert.is(choice(near, 128 * MiB), 'ring');
  assert.is(choice(near, 256 * MiB), 'ring');
  // At 16 MiB both lie on their curves' last points: the model's order holds.
  assert.not.ok(pricedPastCurve('ring', call(16 * MiB, 4), near));
  assert.ok(price(near, 16 * MiB, 'tree') < price(near, 16 * MiB, 'ring'));
  assert.is(choice(near, 16 * MiB), 'tree');
  // The tree priced 15% under the ring past the curves: no tie, the tree.
  const clear = curves(1e-9, 0.85 * 0.75e-9);
  assert.ok(price(clear, 128 * MiB, 'ring') > price(clear, 128 * MiB, 'tree') * (1 + EXTRAPOLATED_TIE));
  assert.is(choice(clear, 128 * MiB), 'tree');
  // The ring already the cheaper: unchanged.
  assert.is(choice(curves(1e-9, 0.8e-9), 128 * MiB), 'ring');
  // The ring measured out to 64 MiB (a reach point), the tree extrapolated past 16 MiB and priced
  // 2% under it at 32 MiB: the ring, whose price there is a measurement (8 ntcp ranks, tie26).
  const reach: CostParams = { ...near, betaCurves: { ...near.betaCurves, ring: [...near.betaCurves['ring']!, { linkBytes: 96 * MiB, beta: 1e-9 }] } };
  assert.not.ok(pricedPastCurve('ring', call(32 * MiB, 4), reach));
  assert.ok(pricedPastCurve('tree', call(32 * MiB, 4), reach));
  assert.ok(price(reach, 32 * MiB, 'tree') < price(reach, 32 * MiB, 'ring'));
  assert.is(choice(reach, 32 * MiB), 'ring');
  // The other way round (the tree measured, the ring extrapolated and the cheaper): the ring holds.
  const treeReach: CostParams = { ...clear, betaCurves: { ...clear.betaCurves, tree: [...clear.betaCurves['tree']!, { linkBytes: 128 * MiB, beta: 0.85 * 0.75e-9 }] } };
  assert.is(choice({ ...treeReach, betaCurves: { ...treeReach.betaCurves, ring: [{ linkBytes: 24 * MiB, beta: 0.5e-9 }] } }, 32 * MiB), 'ring');
});

test("an out-of-place host allreduce pays its bytes at the copy rate on the schedules of messages, not on the board (which reads its send buffer), nor on GPU memory, nor on other collectives, nor without a rate", () => {
  const copying: CostParams = { ...params, copy: 0.25e-9, board: { call: 5e-6 } };
  // Within the direct exchange's reach at 4 ranks (directReachBytes).
  const bytes = 32 << 10;
  const extra = (algorithm: string, p: CostParams, at = call(bytes, 4)) => predictSeconds(algorithm, { ...at, outOfPlace: true }, p)! - predictSeconds(algorithm, at, p)!;
  for (const algorithm of ['ring', 'tree', 'direct', 'mesh']) assert.ok(Math.abs(extra(algorithm, copying) - bytes * 0.25e-9) < 1e-12, algorithm);
  assert.is(extra('board', copying), 0);
  assert.is(extra('ring', params), 0);
  assert.is(extra('ring', copying, { ...call(bytes, 4), memory: 'gpu' } as ReturnType<typeof call>), 0);
  assert.is(extra('ring', copying, { ...call(bytes, 4), collective: 'broadcast' as 'allReduce' }), 0);
  // One thread copies every rank's buffer in turn.
  assert.ok(Math.abs(extra('ring', { ...copying, oneThread: true }) - 4 * bytes * 0.25e-9) < 1e-12);
  assert.is(checkCostParams(JSON.parse(JSON.stringify(copying))).copy, 0.25e-9);
  assert.throws(() => checkCostParams({ ...JSON.parse(JSON.stringify(copying)), copy: -1 }), /copy/);
});

test.run();
