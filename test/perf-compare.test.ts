import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { comparisonTable, latencyLines, missingLines } from '../bench/compare/report.js';
import { compareSizes, parseTimingLines, type PeerResult } from '../bench/compare/peer.js';
import { parseCompareArgs } from '../bench/compare/args.js';
import { webcclName } from '../bench/compare/webccl.js';
import { combineTimes } from '../bench/perf/combine.js';
import { compareSeries } from '../bench/compare/plot.js';
import { renderBusbwSvg } from '../bench/perf/plot.js';

const results: PeerResult[] = [
  { name: 'webccl-ws', timesUs: new Map([[8, 30], [1048576, 1000]]) },
  { name: 'mpi', timesUs: new Map([[8, 10], [1048576, 500]]) },
  { name: 'gloo', missing: 'python3 torch not found' },
];

test('peers: timing lines are parsed, other output ignored', () => {
  const times = parseTimingLines(['warning: something', '{"bytes": 8, "timeUs": 12.5}', '', '{"bytes": 16, "timeUs": 13}']);
  assert.equal([...times], [[8, 12.5], [16, 13]]);
});

test('compare: busbw side by side with webccl/peer ratios', () => {
  const lines = comparisonTable(results, ['webccl-ws'], [8, 1048576], 2);
  assert.match(lines[1]!, /size\s+webccl-ws\s+mpi\s+webccl-ws\/mpi/);
  // 1 MiB in 1000 us at 2 ranks: busbw = 1.048576 GB/s x 2(n-1)/n = 1.049; MPI twice as fast.
  assert.match(lines[3]!, /1 MiB\s+1\.049\s+2\.097\s+0\.50/);
});

test('compare: latency ratio and missing peers by name', () => {
  const latency = latencyLines(results, ['webccl-ws'], 8);
  assert.match(latency[0]!, /webccl-ws 30\.0, mpi 10\.0/);
  assert.match(latency[1]!, /webccl-ws takes 3\.00x the time of mpi/);
  assert.equal(missingLines(results), ['# gloo: not measured, python3 torch not found']);
});

test('compare: the collective is an optional word, allreduce when absent, nccl-tests spellings taken, others refused by name', () => {
  const collectiveOf = (argv: string[]) => {
    const options = parseCompareArgs(argv);
    return options === 'help' ? 'help' : options.sweep.collective;
  };
  assert.is(collectiveOf(['--np', '4']), 'allreduce');
  assert.is(collectiveOf(['reducescatter', '--np', '4', '-b', '8']), 'reducescatter');
  assert.is(collectiveOf(['--np', '4', 'all_gather_perf']), 'allgather');
  assert.is(collectiveOf(['broadcast', '--help']), 'help');
  assert.throws(() => parseCompareArgs(['alltoall']), /no comparison of "alltoall" \(collectives: allreduce, reducescatter, allgather, broadcast, reduce\)/);
  assert.throws(() => parseCompareArgs(['reduce', 'broadcast']), /one collective at a time/);
  assert.throws(() => parseCompareArgs(['--np']), /--np needs a value/);
});

test('compare: --host-buffers takes no value and reaches webccl-perf\'s contestants (named -hostbuf)', () => {
  const options = parseCompareArgs(['allgather', '--host-buffers', '--np', '4']);
  assert.ok(options !== 'help' && options.hostBuffers && options.sweep.ranks === 4);
  const plain = parseCompareArgs(['allgather']);
  assert.ok(plain !== 'help' && !plain.hostBuffers);
  assert.is(webcclName('shm', true), 'webccl-shm-hostbuf');
});

test('compare: sizes follow webccl-perf\'s layout (whole float32s per rank for reducescatter and allgather), busbw its factor', () => {
  const sweep = { ranks: 4, minBytes: 8, maxBytes: 1024, stepFactor: 4, stepBytes: 0, iters: 1, warmup: 0 };
  assert.equal(compareSizes({ ...sweep, collective: 'allreduce' }), [8, 32, 128, 512]);
  // 8 B holds no float32 for each of 4 ranks: left out, as the MPI peer leaves it.
  assert.equal(compareSizes({ ...sweep, collective: 'reducescatter' }), [32, 128, 512]);
  assert.equal(compareSizes({ ...sweep, ranks: 3, collective: 'allgather' }), [24, 120, 504]);
  // 1 MiB in 1000 us at 4 ranks: algbw 1.049 GB/s; reducescatter's busbw x 3/4, broadcast's x 1.
  const lines = comparisonTable(results, ['webccl-ws'], [1048576], 4, 'reducescatter');
  assert.match(lines[0]!, /^# reducescatter float32 sum, in place, CPU memory, 4 ranks/);
  assert.match(lines[2]!, /1 MiB\s+0\.786\s+1\.573\s+0\.50/);
  assert.match(comparisonTable(results, ['webccl-ws'], [1048576], 4, 'broadcast')[0]!, /^# broadcast float32, in place/);
  assert.match(latencyLines(results, ['webccl-ws'], 8, 'allgather')[0]!, /us per allgather/);
});

test('average modes of nccl-tests -a', () => {
  assert.is(combineTimes([4, 2, 6], 0), 4);
  assert.is(combineTimes([4, 2, 6], 1), 4);
  assert.is(combineTimes([4, 2, 6], 2), 2);
  assert.is(combineTimes([4, 2, 6], 3), 6);
});

test('compare --plot: webccl and the peers that ran overlaid, a missing peer left out', () => {
  const series = compareSeries([...results, { name: 'gloo-ran', timesUs: new Map([[1048576, 2000]]) }], 2);
  assert.equal(series.map((s) => s.name), ['webccl-ws', 'mpi', 'gloo-ran']);
  // 1 MiB in 500 us at 2 ranks: busbw 2.097 GB/s.
  assert.ok(Math.abs(series[1]!.points[1]!.busbw - 2.097152) < 1e-9);
  const svg = renderBusbwSvg('compare', series);
  const names = [...svg.matchAll(/<text class="legend"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.equal(names, ['webccl-ws', 'mpi', 'gloo-ran']);
});

test.run();
