// The table of posted work requests (lib/native/posted-requests.ts): every id names one post,
// a completion takes its waiter once, and an id of an earlier use of a reused slot (a late or
// forged completion) takes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PostedRequests } from '../lib/native/posted-requests.js';

test('each waiter is taken once, by its own id, in any order', () => {
  const table = new PostedRequests<string>();
  const ids = Array.from({ length: 50 }, (_, i) => table.add(`w${i}`));
  assert.is(new Set(ids).size, 50, 'ids are distinct');
  assert.ok(ids.every((id) => Number.isSafeInteger(id) && id > 0), 'ids are positive integers');
  assert.is(table.size, 50);
  const order = ids.map((_, i) => (i * 17) % 50);
  for (const i of order) assert.is(table.take(ids[i]!), `w${i}`);
  assert.is(table.size, 0);
  for (const id of ids) assert.is(table.take(id), undefined, 'a second completion of the same id takes nothing');
});

test('an id of a reused slot\'s earlier post takes nothing', () => {
  const table = new PostedRequests<number>();
  const first = table.add(1);
  assert.is(table.take(first), 1);
  const second = table.add(2); // the same slot, its next generation
  assert.is.not(second, first);
  assert.is(table.take(first), undefined);
  assert.is(table.size, 1);
  assert.is(table.take(second), 2);
});

test('ids it never gave take nothing', () => {
  const table = new PostedRequests<number>();
  const id = table.add(7);
  for (const bad of [0, -1, id + 1, id - 1, id + 0.5, Number.NaN, Infinity, 2 ** 60, id + (1 << 20)]) assert.is(table.take(bad), undefined, `take(${bad})`);
  assert.is(table.take(id), 7);
});

test('slots freed by completions are used again: the table grows only with what is pending', () => {
  const table = new PostedRequests<number>();
  const pendingForever = table.add(-1);
  for (let i = 0; i < 10_000; i++) {
    const a = table.add(i);
    const b = table.add(i + 1);
    assert.is(table.take(b), i + 1);
    assert.is(table.take(a), i);
  }
  assert.is(table.size, 1);
  // Three slots ever made (the one still pending, and two reused by every pair).
  assert.ok(table.add(0) % (1 << 20) < 3);
  assert.is(table.take(pendingForever), -1);
});

test.run();
