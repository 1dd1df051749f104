// Small messages both ways at once with random pauses, for the doorbell's lost-wakeup test
// (test/native-shm.test.ts): both processes of a pair run hammer() on their endpoint at the
// same time. Sends mix the small path (sendNow), posted sends and bursts; pauses mix none,
// microtasks, setImmediate, timers and busy work on the JS thread (a writer publishing while
// its reader is awake or asleep, a reader draining in the middle of a turn or only before its
// loop sleeps); receives are reposted late at random, so records wait for a receive (the
// drain a post must trigger). Each message carries its number and a pattern of it; a gap with
// no message for STALL_MS fails naming where it stalled. A lost wakeup is not forever: the
// reader's progress thread finds armed records on its 50 ms tick; the caller bounds the time.
import type { ShmEndpoint } from '../../lib/native/shm.js';

const STALL_MS = 3000;
const MAX_BYTES = 200;
const WINDOW = 4;

function fill(bytes: Uint8Array, seq: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, 4).setUint32(0, seq, true);
  for (let i = 4; i < bytes.byteLength; i++) bytes[i] = (seq * 7 + i) & 255;
}

function holds(bytes: Uint8Array, seq: number): boolean {
  if (bytes.byteLength < 4 || new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) !== seq) return false;
  for (let i = 4; i < bytes.byteLength; i++) if (bytes[i] !== ((seq * 7 + i) & 255)) return false;
  return true;
}

const length = (seq: number) => 4 + ((seq * 37) % (MAX_BYTES - 4));

/** A random pause of one of the kinds a peer's turn can have. */
async function pause(): Promise<void> {
  const kind = Math.random();
  if (kind < 0.35) return; // a burst
  if (kind < 0.5) return Promise.resolve();
  if (kind < 0.7) return new Promise((resolve) => setImmediate(resolve));
  if (kind < 0.85) return new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
  const until = performance.now() + Math.random() * 0.3; // busy: the loop does not come round
  while (performance.now() < until);
}

/**
 * Sends `count` numbered messages to the peer and receives `count` from it, using `region`
 * (registered as `key`, at least (WINDOW + 1) · MAX_BYTES bytes) for the posted sends and
 * receives; resolves with the number received in order and the milliseconds it took, rejects
 * on a stall or a wrong message.
 */
export async function hammer(endpoint: ShmEndpoint, key: number, region: Uint8Array, count: number): Promise<{ received: number; ms: number }> {
  const started = performance.now();
  let received = 0;
  let lastProgress = performance.now();
  let stop = false;
  const slots = Array.from({ length: WINDOW }, (_, i) => i);
  const receiving = (async () => {
    const posted: Array<{ slot: number; done: Promise<{ bytes: number }> }> = [];
    const post = () => {
      const slot = slots.shift()!;
      posted.push({ slot, done: endpoint.recv(key, slot * MAX_BYTES, MAX_BYTES) });
    };
    for (let i = 0; i < WINDOW && i < count; i++) post();
    while (received < count && !stop) {
      const { slot, done } = posted.shift()!;
      const { bytes } = await done;
      if (bytes !== length(received) || !holds(region.subarray(slot * MAX_BYTES, slot * MAX_BYTES + bytes), received)) {
        throw new Error(`message ${received} arrived wrong (${bytes} bytes)`);
      }
      received++;
      lastProgress = performance.now();
      slots.push(slot);
      await pause(); // a late repost: the peer's next records wait for it in the ring
      if (received + posted.length < count) post();
    }
  })();
  const sending = (async () => {
    const small = new Uint8Array(MAX_BYTES);
    const staged = region.subarray(WINDOW * MAX_BYTES, (WINDOW + 1) * MAX_BYTES);
    for (let seq = 0; seq < count && !stop; seq++) {
      const bytes = length(seq);
      if (seq % 3 !== 2) {
        fill(small.subarray(0, bytes), seq);
        if (endpoint.sendNow(small.subarray(0, 2), small.subarray(2, bytes))) {
          await pause();
          continue;
        }
      }
      fill(staged.subarray(0, bytes), seq);
      await endpoint.send(key, WINDOW * MAX_BYTES, bytes);
      await pause();
    }
  })();
  let watchdog: ReturnType<typeof setInterval> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    watchdog = setInterval(() => {
      if (performance.now() - lastProgress > STALL_MS) reject(new Error(`stalled: no message for ${STALL_MS} ms after ${received} of ${count} received`));
    }, 100);
  });
  try {
    await Promise.race([Promise.all([receiving, sending]), stalled]);
  } finally {
    clearInterval(watchdog);
    stop = true;
    // After a stall the loops still wait on the endpoint, whose destroy rejects them: not news.
    receiving.catch(() => {});
    sending.catch(() => {});
  }
  return { received, ms: performance.now() - started };
}
