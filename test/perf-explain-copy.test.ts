// webccl-perf --explain prices an allreduce out of place, as the sweep's first column runs it:
// the schedules of messages pay their copy of the send buffer (params.copy), and the header says so.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { explainLines } from '../bench/perf/explain.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';

const bytes = 16 << 20;

function ringMicroseconds(params: CostParams): { us: number; header: string[] } {
  const options = parsePerfArgs(['allreduce', '--explain', '--np', '4', '--transport', 'tcp', '-b', String(bytes), '-e', String(bytes)]) as PerfOptions;
  const lines = explainLines(options, { params, what: 'the test' });
  const columns = lines.find((l) => l.startsWith('#') && /\bchoice\b/.test(l))!.replace(/^#/, '').trim().split(/\s+/);
  const row = lines.find((l) => !l.startsWith('#'))!.trim().split(/\s+/);
  // The row: size, choice, predicted, then one cell per column after those three headings (whole µs).
  return { us: Number(row[columns.indexOf('ring')]), header: lines.filter((l) => l.startsWith('#')) };
}

test('the ring at 16 MiB is priced with its copy where the parameters have a rate, without one where they have none; the header says which', () => {
  const copying: CostParams = { ...DEFAULT_COST_PARAMS, copy: 0.5e-9 };
  const withCopy = ringMicroseconds(copying);
  assert.ok(withCopy.header.some((l) => /out of place, as the sweep's first column: its copy of the send buffer at 0\.500 ns\/B/.test(l)), withCopy.header.join('\n'));
  const without = ringMicroseconds(DEFAULT_COST_PARAMS);
  assert.ok(Math.abs(withCopy.us - without.us - 1e6 * bytes * 0.5e-9) < 1, `${withCopy.us} against ${without.us}`);
  assert.ok(without.header.some((l) => /no copy rate \(priced as in place\)/.test(l)));
});

test.run();
