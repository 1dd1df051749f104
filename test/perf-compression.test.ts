// webccl-perf -Z: the table's extra columns (wire bytes per call, max relative error), measured
// by real communicators and checked against the codec rows' own byte formulas and error bounds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { openRanks } from '../bench/perf/ranks.js';
import { runSweep } from '../bench/perf/sweep.js';
import { extraColumns, formatRow, tableHeader } from '../bench/perf/table.js';
import type { ResultRow } from '../bench/perf/results.js';
import { codecNamed } from '../lib/collectives/codecs.js';

function options(...argv: string[]): PerfOptions {
  const parsed = parsePerfArgs(argv);
  if (parsed === 'help' || parsed === 'version') throw new Error(parsed);
  return parsed;
}

const row: ResultRow = {
  bytes: 1048576, count: 262144, type: 'float', redop: 'sum', root: -1,
  outOfPlace: { timeUs: 523.456, algbw: 2.003, busbw: 3.0045, wrong: undefined },
  inPlace: { timeUs: 12.5, algbw: 83.89, busbw: 125.83, wrong: undefined },
  compression: { wireBytes: 399360, maxRelError: 0.0278 },
};

test('-Z adds wire and maxrelerr right of the nccl-tests columns, which stay as they were', () => {
  assert.equal(extraColumns(options('allreduce')).map((c) => c.name), ['predicted']);
  const extras = extraColumns(options('allreduce', '-Z', 'none'));
  assert.equal(extras.map((c) => c.name), ['predicted', 'wire', 'maxrelerr']);
  const line = formatRow(row, extras);
  assert.ok(line.startsWith(formatRow(row)), 'the nccl-tests part is unchanged');
  assert.match(line, /N\/A\s+399360\s+2\.78e-2$/);
  const [, , names, units] = tableHeader(extras);
  assert.is(names!.length, line.length);
  for (const name of ['#wrong', 'wire', 'maxrelerr']) assert.ok(line[names!.lastIndexOf(name) + name.length - 1] !== ' ', `${name} ends over a value`);
  assert.ok(units!.endsWith('(B)'));
  const { compression: _, ...plain } = row;
  assert.match(formatRow(plain, extras), /N\/A\s+N\/A$/);
});

test('4 inproc ranks, 1 MiB: the wire column is the ring\'s 2(n-1) encodings of a quarter; the error is within the codec\'s bound', async () => {
  const quarter = 262144 / 4;
  for (const [codec, bound] of [['none', 0], ['bf16', 0], ['int8', 0.13], ['onebit', Infinity]] as const) {
    const run = options('allreduce', '--np', '4', '--transport', 'inproc', '--mem', 'cpu', '-b', '1M', '-e', '1M', '-n', '2', '-w', '0', '--jit-warmup', '0', '-Z', codec);
    const ranks = await openRanks(run);
    try {
      const results = await Promise.all(ranks.comms.map((comm) => runSweep(comm, run, ranks.storeFactory)));
      const figures = results[0]![0]!.compression!;
      for (const rows of results) assert.equal(rows[0]!.compression, figures, 'every rank holds the same row');
      // One segment of 65536 elements per rank, 256-aligned: every rank sends 6 encodings of one.
      assert.is(figures.wireBytes, 6 * codecNamed(codec)!.encodedBytes(quarter, 'float32'), codec);
      assert.ok(figures.maxRelError <= bound, `${codec}: ${figures.maxRelError}`);
      // perf's inputs are quarters whose partial sums bf16 holds exactly; int8's and onebit's
      // block scales are not powers of two, so they must show an error (the column is live).
      if (codec === 'int8' || codec === 'onebit') assert.ok(figures.maxRelError > 0, codec);
    } finally {
      await ranks.close();
    }
  }
});

test.run();
