// SendQueue (lib/collectives/pipeline.ts): how many sends of one pipeline run at once, and that
// a failure is reported by the next post or by drain, never lost and never unhandled.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SendQueue } from '../lib/collectives/pipeline.js';

/** A send that finishes when the test says so, recording when it started. */
function controlledSends() {
  const started: number[] = [];
  const finish: (() => void)[] = [];
  const fail: ((error: Error) => void)[] = [];
  const send = (id: number) => () => {
    started.push(id);
    return new Promise<void>((resolve, reject) => { finish[id] = resolve; fail[id] = reject; });
  };
  return { started, finish, fail, send };
}

/** The message `pending` rejects with (the test fails if it resolves). */
async function rejection(pending: Promise<unknown>): Promise<string> {
  const outcome = await pending.then(() => 'resolved', (error: unknown) => (error as Error).message);
  assert.is.not(outcome, 'resolved');
  return outcome;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('window 1: each send starts only after the previous one finished', async () => {
  const queue = new SendQueue();
  const { started, finish, send } = controlledSends();
  await queue.post(send(0));
  const second = queue.post(send(1));
  await turn();
  assert.equal(started, [0]);
  finish[0]!();
  await second;
  assert.equal(started, [0, 1]);
  let drained = false;
  const drain = queue.drain().then(() => { drained = true; });
  await turn();
  assert.is(drained, false);
  finish[1]!();
  await drain;
});

test('window 2: a send starts while the previous one is pending, the third waits for the first', async () => {
  const queue = new SendQueue(2);
  const { started, finish, send } = controlledSends();
  await queue.post(send(0));
  await queue.post(send(1));
  assert.equal(started, [0, 1]);
  const third = queue.post(send(2));
  await turn();
  assert.equal(started, [0, 1]);
  finish[1]!(); // out of order: the window frees only when the oldest finishes
  await turn();
  assert.equal(started, [0, 1]);
  finish[0]!();
  await third;
  assert.equal(started, [0, 1, 2]);
  let drained = false;
  const drain = queue.drain().then(() => { drained = true; });
  await turn();
  assert.is(drained, false);
  finish[2]!();
  await drain;
});

test('a failed send is thrown by the next post that waits for it, and by drain', async () => {
  const queue = new SendQueue(2);
  const { started, fail, finish, send } = controlledSends();
  await queue.post(send(0));
  await queue.post(send(1));
  fail[0]!(new Error('send 0 failed'));
  assert.match(await rejection(queue.post(send(2))), /send 0 failed/);
  assert.equal(started, [0, 1]);
  finish[1]!();
  assert.match(await rejection(queue.drain()), /send 0 failed/);
});

test('a failure of the newest send is reported by drain', async () => {
  const queue = new SendQueue(2);
  const { fail, send } = controlledSends();
  await queue.post(send(0));
  fail[0]!(new Error('lost'));
  assert.match(await rejection(queue.drain()), /lost/);
});

test('the window must be a positive integer', () => {
  assert.throws(() => new SendQueue(0), /window 0/);
  assert.throws(() => new SendQueue(1.5), /window 1.5/);
});

test.run();
