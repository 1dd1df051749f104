import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { algorithmBandwidth, busBandwidth, busBandwidthFactor } from '../bench/perf/bandwidth.js';
import { formatRow, formatTime, PREDICTED_COLUMN, tableFooter, tableHeader } from '../bench/perf/table.js';
import { averageBusBandwidth, type ResultRow } from '../bench/perf/results.js';
import { countWrong, rankInput, setElement, tolerance } from '../bench/perf/data.js';

test('busbw factors of nccl-tests PERFORMANCE.md', () => {
  assert.is(busBandwidthFactor('allreduce', 2), 1);
  assert.is(busBandwidthFactor('allreduce', 4), 1.5);
  assert.is(busBandwidthFactor('allreduce', 1), 0);
  for (const c of ['allgather', 'reducescatter', 'alltoall'] as const) assert.is(busBandwidthFactor(c, 4), 0.75);
  for (const c of ['broadcast', 'reduce', 'sendrecv'] as const) assert.is(busBandwidthFactor(c, 8), 1);
});

test('bandwidth: bytes per nanosecond is GB/s', () => {
  assert.is(algorithmBandwidth(1e9, 1e6), 1);
  assert.is(busBandwidth('allreduce', 4, 1e9, 1e6), 1.5);
  assert.is(algorithmBandwidth(8, 0), 0);
});

const row: ResultRow = {
  bytes: 1048576, count: 262144, type: 'float', redop: 'sum', root: -1,
  outOfPlace: { timeUs: 523.456, algbw: 2.003, busbw: 3.0045, wrong: 0 },
  inPlace: { timeUs: 12.5, algbw: 83.89, busbw: 125.83, wrong: 17 },
};

test('table: rows use nccl-tests widths and number formats', () => {
  assert.is(formatRow(row),
    '     1048576        262144     float     sum      -1    523.5    2.00    3.00      0    12.50   83.89  125.83     17');
  assert.is(formatRow(row, [PREDICTED_COLUMN]), formatRow(row) + '        N/A');
  assert.match(formatRow({ ...row, predictedUs: 480.04 }, [PREDICTED_COLUMN]), /125\.83     17      480\.0$/);
  assert.is(formatTime(99.994), '99.99');
  assert.is(formatTime(100), '100.0');
  assert.is(formatTime(12345.6), '12346');
  const unchecked = formatRow({ ...row, outOfPlace: { ...row.outOfPlace, wrong: undefined } });
  assert.match(unchecked, /3\.00    N\/A/);
});

test('table: header columns line up with the rows', () => {
  const [, groups, names, units] = tableHeader([PREDICTED_COLUMN]);
  const line = formatRow(row, [PREDICTED_COLUMN]);
  assert.is(names!.length, line.length);
  // Each column's name ends where its values end.
  for (const name of ['size', 'count', 'type', 'redop', 'root', 'time', 'algbw', 'busbw', '#wrong', 'predicted']) {
    const end = names!.indexOf(name) + name.length;
    assert.ok(line[end - 1] !== ' ', `${name} ends over a value`);
  }
  assert.match(groups!, /out-of-place\s+in-place$/);
  assert.match(units!, /^#\s+\(B\)\s+\(elements\)\s+\(us\)\s+\(GB\/s\)/);
});

test('table: footer reports wrong values and the mean busbw of both columns', () => {
  assert.is(averageBusBandwidth([row]), (3.0045 + 125.83) / 2);
  const footer = tableFooter([row], true);
  assert.is(footer[0], '# Out of bounds values : 17 FAILED');
  assert.is(footer[1], '# Avg bus bandwidth    : 64.4172 ');
  assert.is(tableFooter([], true)[0], '# Out of bounds values : 0 OK');
  assert.is(tableFooter([], false)[0], '# Out of bounds values : N/A');
});

test('check: inputs are deterministic per rank; wrong elements are counted', () => {
  const a = rankInput('float32', 1, 100);
  assert.equal(a, rankInput('float32', 1, 100));
  assert.not.equal(a, rankInput('float32', 2, 100));
  const b = a.slice();
  setElement('float32', b, 3, 99);
  setElement('float32', b, 50, Number.NaN);
  assert.is(countWrong('float32', b, a, 2), 2);
  assert.is(countWrong('float32', a, a, 2), 0);
  // Rounding within the dtype's tolerance is not an error; beyond it is.
  const nudged = a.slice();
  nudged[0] = a[0]! * (1 + tolerance('float32', 4) / 2);
  assert.is(countWrong('float32', nudged, a, 4), 0);
  const half = rankInput('float16', 0, 10);
  const halfOff = half.slice();
  halfOff[2] = halfOff[2]! + 40; // many ulps away
  assert.is(countWrong('float16', halfOff, half, 8), 1);
  const ints = rankInput('int32', 3, 10);
  const intsOff = ints.slice();
  intsOff[9] = intsOff[9]! + 1;
  assert.is(countWrong('int32', intsOff, ints, 8), 1);
});

test.run();
