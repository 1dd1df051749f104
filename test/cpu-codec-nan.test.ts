// The hop codecs' folds on the CPU (lib/cpu/host-codec.ts decodeAccumulate) follow the NaN
// rule of lib/cpu/reduction.ts: acc's NaN before the decoded value's, quieted, sign and payload
// kept (test/helpers/codec-nan.ts builds the inputs and the rule's lanes); lanes of numbers
// equal decode-then-add. Also error feedback (int8, 1-bit): a poisoned block's residual is reset to 0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codecNamed } from '../lib/collectives/codecs.js';
import { hostCodec } from '../lib/cpu/host-codec.js';
import { codecNanCase, feedbackNanCase, FOLD_CODECS } from './helpers/codec-nan.js';
import { firstDifference } from './helpers/nan-rule.js';

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

for (const codecName of ['int8', 'onebit'] as const) {
  test(`${codecName} error feedback: a poisoned block's residual is reset to 0, the next call is clean`, () => {
    const host = hostCodec(codecNamed(codecName)!.format);
    const count = 1001;
    const cases = feedbackNanCase(codecName, count);
    const residual = cases.residual.slice();
    host.encode(cases.x, residual);
    assert.is(firstDifference('float32', bytes(residual), cases.residualAfter(residual)), '');
    // A clean step after the poisoned one (what a loss scaler runs next) decodes to numbers.
    const decoded = new Float32Array(count);
    host.decode(host.encode(new Float32Array(count).fill(0.25), residual), count, decoded);
    assert.ok(decoded.every(Number.isFinite), 'the step after a poisoned one');
  });
}

test.run();
