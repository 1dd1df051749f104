// The communicator's deadlines (lib/comm/health.ts) are kept by one timer for all waits: each
// wait must still fail at its own deadline (not the first wait's, not never), a failure must
// reject every pending wait, and with nothing pending the timer must not keep the process alive.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { timeoutError, WebcclError } from '../lib/errors.js';
import { Health } from '../lib/comm/health.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const NEVER = new Promise<never>(() => undefined);

function outcome(promise: Promise<unknown>): Promise<{ error: unknown; at: number }> {
  return promise.then(() => ({ error: undefined, at: performance.now() }), (error: unknown) => ({ error, at: performance.now() }));
}

function referencedTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

test('a wait started after the timer was armed fails at its own deadline', async () => {
  const health = new Health(150);
  const early = health.watch(sleep(30).then(() => 'early'), () => timeoutError('early wait'));
  await sleep(80);
  assert.is(await early, 'early');
  const started = performance.now();
  const late = await outcome(health.watch(NEVER, () => timeoutError('late wait')));
  assert.instance(late.error, WebcclError);
  assert.match((late.error as Error).message, /late wait/);
  assert.ok(late.at - started >= 149, `failed ${(late.at - started).toFixed(0)} ms after it started, before its deadline`);
  assert.is(health.error, late.error, 'the timeout poisons the health');
});

test('a failure rejects every pending wait, tracked or watched, and later ones at once', async () => {
  const health = new Health(60_000);
  const watched = outcome(health.watch(NEVER, () => timeoutError('never')));
  let trackedError: unknown;
  health.track((error) => { trackedError = error; }, () => timeoutError('never'));
  const failure = new WebcclError('RemoteError', 'peer went away');
  assert.ok(health.fail(failure));
  assert.is((await watched).error, failure);
  assert.is(trackedError, failure);
  let lateError: unknown;
  assert.is(health.track((error) => { lateError = error; }, () => timeoutError('never')), undefined);
  assert.is(lateError, failure);
  assert.is(referencedTimers(), 0, 'no timer left behind');
});

test('settled waits leave no referenced timer; a new wait references it again', async () => {
  const before = referencedTimers();
  const health = new Health(60_000);
  await health.watch(Promise.resolve(1), () => timeoutError('resolved'));
  assert.is(referencedTimers(), before, 'idle: nothing keeps the process alive');
  let rejected = false;
  const wait = health.track(() => { rejected = true; }, () => timeoutError('pending'));
  assert.is(referencedTimers(), before + 1, 'pending: the deadline timer is referenced');
  health.settled(wait);
  assert.is(referencedTimers(), before);
  assert.not.ok(rejected);
  assert.is(health.error, undefined);
});

test('waits settled in any order leave the others pending in deadline order', async () => {
  const before = referencedTimers();
  const health = new Health(60_000);
  const rejected: number[] = [];
  const waits = Array.from({ length: 40 }, (_, i) => health.track(() => { rejected.push(i); }, () => timeoutError(`wait ${i}`)));
  // The oldest, the newest, one in the middle twice, and every third from the back.
  const settle = [0, 39, 20, 20, ...Array.from({ length: 13 }, (_, k) => 38 - 3 * k)];
  for (const i of settle) health.settled(waits[i]);
  health.settled(undefined);
  const failure = new WebcclError('RemoteError', 'peer went away');
  assert.ok(health.fail(failure));
  const expected = waits.map((_, i) => i).filter((i) => !settle.includes(i));
  assert.equal(rejected, expected, 'every pending wait rejected once, oldest first; no settled one');
  for (const wait of waits) health.settled(wait);
  assert.is(referencedTimers(), before, 'no timer left behind');
});

test('after the oldest settles, the timer fails the next oldest at its own deadline', async () => {
  const health = new Health(120);
  const first = health.track(() => undefined, () => timeoutError('first'));
  await sleep(40);
  const started = performance.now();
  const second = outcome(health.watch(NEVER, () => timeoutError('second')));
  health.settled(first);
  const { error, at } = await second;
  assert.match((error as Error).message, /second/);
  assert.ok(at - started >= 119, `failed ${(at - started).toFixed(0)} ms after it started, before its deadline`);
});

test.run();
