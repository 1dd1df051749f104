// vec4Spans: which words of a run a kernel's vec4 form handles and which its scalar form does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vec4Spans } from '../lib/gpu/vec4-spans.js';

test('vec4Spans: head to the first common vec4 boundary, whole vec4s, then the tail', () => {
  assert.equal(vec4Spans(11, [1, 5, 65]), [
    { start: 0, words: 3, vec4: false }, { start: 3, words: 8, vec4: true },
  ]);
  assert.equal(vec4Spans(10, [0, 64]), [{ start: 0, words: 8, vec4: true }, { start: 8, words: 2, vec4: false }]);
  assert.equal(vec4Spans(2, [3]), [{ start: 0, words: 1, vec4: false }, { start: 1, words: 1, vec4: false }]);
  assert.equal(vec4Spans(0, [0]), []);
});

test('vec4Spans: streams out of step are all scalar; a shared last word stays scalar', () => {
  assert.equal(vec4Spans(100, [0, 1]), [{ start: 0, words: 100, vec4: false }]);
  assert.equal(vec4Spans(8, [0], true), [{ start: 0, words: 4, vec4: true }, { start: 4, words: 4, vec4: false }]);
  assert.equal(vec4Spans(3, [0], true), [{ start: 0, words: 3, vec4: false }]);
});

test('vec4Spans: every word covered once, in order, for every residue and length', () => {
  for (let residue = 0; residue < 4; residue++) {
    for (let words = 0; words < 40; words++) {
      for (const scalarLast of [false, true]) {
        let next = 0;
        for (const span of vec4Spans(words, [residue, residue + 64], scalarLast)) {
          assert.is(span.start, next);
          if (span.vec4) assert.ok((residue + span.start) % 4 === 0 && span.words % 4 === 0);
          if (span.vec4 && scalarLast) assert.ok(span.start + span.words < words);
          next += span.words;
        }
        assert.is(next, words);
      }
    }
  }
});

test.run();
