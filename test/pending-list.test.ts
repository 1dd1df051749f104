// The list of pending things (lib/pending-list.ts) that the health's waits and the channels'
// writes live in: oldest first whatever order entries leave in, each entry removed once, and
// only by its own list.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PendingList } from '../lib/pending-list.js';

test('entries leave in any order; the rest stay oldest first', () => {
  const list = new PendingList<number>();
  const entries = Array.from({ length: 30 }, (_, i) => list.add(i));
  assert.is(list.first, 0);
  // The oldest, the newest, the middle, then every fourth from the back.
  const removed = [0, 29, 15, ...Array.from({ length: 7 }, (_, k) => 26 - 4 * k)];
  for (const i of removed) assert.ok(list.remove(entries[i]), `entry ${i} was pending`);
  assert.is(list.first, 1);
  assert.not.ok(list.empty);
  assert.equal(list.drain(), entries.map((e) => e.item).filter((i) => !removed.includes(i)));
  assert.ok(list.empty);
  assert.is(list.first, undefined);
});

test('an entry is removed once, by its own list only', () => {
  const a = new PendingList<string>();
  const b = new PendingList<string>();
  const x = a.add('x');
  const y = b.add('y');
  assert.not.ok(a.remove(y), "another list's entry");
  assert.not.ok(a.remove(undefined));
  assert.ok(a.remove(x));
  assert.not.ok(a.remove(x), 'a second time');
  assert.ok(a.empty);
  assert.equal(b.drain(), ['y']);
  assert.not.ok(b.remove(y), 'drained entries are out of the list');
});

test('the list is used again after it empties', () => {
  const list = new PendingList<number>();
  for (let round = 0; round < 3; round++) {
    const first = list.add(round);
    const second = list.add(round + 10);
    assert.ok(list.remove(second));
    assert.is(list.first, round);
    const third = list.add(round + 20);
    assert.ok(list.remove(first));
    assert.is(list.first, round + 20);
    assert.ok(list.remove(third));
    assert.ok(list.empty);
  }
});

test.run();
