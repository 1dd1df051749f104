// The hop codecs' folds on the CPU (lib/cpu/host-codec.ts decodeAccumulate) follow the NaN
// rule of lib/cpu/reduction.ts: acc's NaN before the decoded value's, quieted, sign and payload
// kept (test/helpers/codec-nan.ts builds the inputs and the rule's lanes); lanes of numbers
// equal decode-then-add. Also int8's error feedback, whose residual folds the same way.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codecNamed } from '../lib/collectives/codecs.js';
import { hostCodec } from '../lib/cpu/host-codec.js';
import { codecNanCase, FOLD_CODECS } from './helpers/codec-nan.js';
import { firstDifference, QUIET_BIT } from './helpers/nan-rule.js';

const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

for (const codecName of FOLD_CODECS) {
  test(`${codecName}: decode + accumulate keeps acc's NaN, then the payload's, quieted`, () => {
    const host = hostCodec(codecNamed(codecName)!.format);
    // 81 lanes: every pair of the half codecs' values; 1001: ragged blocks of the block codecs.
    for (const count of [81, 1001]) {
      const cases = codecNanCase(codecName, count);
      const got = cases.acc.slice();
      host.decodeAccumulate(cases.payload, count, got);
      assert.is(firstDifference('float32', bytes(got), cases.rule), '', `${codecName}, ${count} lanes`);
      const decoded = new Float32Array(count);
      host.decode(cases.payload, count, decoded);
      const numbers = Array.from(cases.acc, (a, i) => (cases.rule[i] === undefined ? Math.fround(a + decoded[i]!) : undefined));
      const numberBits = numbers.map((n) => (n === undefined ? undefined : new Uint32Array(Float32Array.of(n).buffer)[0]!));
      assert.is(firstDifference('float32', bytes(got), numberBits), '', `${codecName}, ${count} lanes: numbers`);
    }
  });
}

test("int8 error feedback: v = residual + x by the rule; a poisoned block's residual is v's NaN, else the codec's NaN", () => {
  const codec = codecNamed('int8')!;
  const host = hostCodec(codec.format);
  const count = 1001;
  const cases = codecNanCase('int8', count);
  // The residual holds the rule's NaNs (acc's lanes), x a NaN of its own in some of the same lanes.
  const residual = cases.acc.slice();
  const x = new Float32Array(count).fill(0.25);
  const xBits = new Uint32Array(x.buffer);
  for (let i = 0; i < count; i += 3) xBits[i] = 0xff812345; // signalling, negative
  const rBits = new Uint32Array(residual.buffer.slice(0));
  host.encode(x, residual);
  const want = Array.from(rBits, (r, i) => {
    if ((r & 0x7fffffff) > 0x7f800000) return (r | QUIET_BIT.float32) >>> 0;
    if (i % 3 === 0) return (0xff812345 | QUIET_BIT.float32) >>> 0;
    // Every block holds a NaN of the residual's, so every block is poisoned: v - NaN.
    return 0x7fc00000;
  });
  assert.is(firstDifference('float32', bytes(residual), want), '');
});

test.run();
