// bench:kernels in its CI mode (--short: 256 KiB, R = 2, 2 runs): the JSON has every field a
// comparison across machines needs (issue 12) and the figures are usable numbers. No timing
// bounds: the machine is shared and slow, only finiteness and sign are checked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const { stdout } = await promisify(execFile)(process.execPath, ['--import', './test/register.mjs', 'bench/kernels.ts', '--short', '--json'], {
  cwd: root, timeout: 300_000, maxBuffer: 16 * 1024 * 1024,
});
const report = JSON.parse(stdout) as Record<string, any>;

const positive = (value: unknown, what: string) => {
  assert.type(value, 'number', what);
  assert.ok(Number.isFinite(value as number) && (value as number) > 0, `${what} is ${String(value)}`);
};

test('the device is made with timestamp quantization off', () => {
  assert.equal(report.dawnFlags, ['disable-dawn-features=timestamp_quantization']);
  assert.ok(['timestamp-query', 'wall-clock'].includes(report.timing));
  assert.is(report.payloadBytes, 256 * 1024);
});

test('the WGSL copy and add references, and copyBufferToBuffer, are measured', () => {
  positive(report.references.copy.gbps, 'copy GB/s');
  positive(report.references.add.gbps, 'add GB/s');
  positive(report.references.copyBufferToBuffer.gbps, 'copyBufferToBuffer GB/s');
  positive(report.references.copyBufferToBuffer.ratioToCopy, 'copyBufferToBuffer / copy');
});

test('every kernel has GB/s and finite positive ratios to both references, at R = 2', () => {
  const names = report.kernels.map((k: { name: string }) => k.name);
  for (const family of ['reduce accumulate sum float32', 'cast float16 -> float32', 'unpack 1-bit', 'onebit compress+EF', 'int8 quantize', 'switchml exponents']) {
    assert.ok(names.some((n: string) => n.startsWith(family)), `${family} is measured`);
  }
  for (const k of report.kernels) {
    assert.is(k.reps, 2, `${k.name} reps`);
    for (const field of ['bytesMoved', 'ms', 'gbps', 'copyGbps', 'addGbps', 'ratioToCopy', 'ratioToAdd']) positive(k[field], `${k.name} ${field}`);
    // The ratios are what they say (same-run references), not a fixed base.
    assert.ok(Math.abs(k.ratioToCopy - k.gbps / k.copyGbps) < 1e-9 * k.ratioToCopy, `${k.name} ratioToCopy`);
    assert.ok(Math.abs(k.ratioToAdd - k.gbps / k.addGbps) < 1e-9 * k.ratioToAdd, `${k.name} ratioToAdd`);
    // The CPU-time ratio exists on software adapters only (null where 256 KiB took no measurable CPU time).
    if (report.software) assert.ok(k.cpuRatioToCopy === null || k.cpuRatioToCopy > 0, `${k.name} cpuRatioToCopy`);
    else assert.is(k.cpuRatioToCopy, undefined, `${k.name} cpuRatioToCopy`);
  }
});

test('the dispatch overhead is still reported', () => {
  assert.is(report.dispatchOverhead.dispatches, 20);
  positive(report.dispatchOverhead.recordUs, 'recording us/dispatch');
  positive(report.dispatchOverhead.totalUs, 'through completion us/dispatch');
});

test.run();
