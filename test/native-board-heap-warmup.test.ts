// A board session fills V8's young generation once when it is made (lib/native/young-generation.ts),
// so that the first small calls do not take the page faults of the heap's fresh pages; and
// WEBCCL_WARM_HEAP=off leaves it alone. (Whether the faults are gone is a benchmark's question,
// bench/allreduce-tails.ts: here, that the warm-up runs, scavenges as it should, and only once.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { boardSegmentName, NativeBoardSession } from '../lib/native/board.js';
import { warmYoungGeneration } from '../lib/native/young-generation.js';
import { BOARD_BUFFER_BYTES } from '../lib/transport/board.js';
import { requireAddon } from './helpers/native-transports.js';

const load = requireAddon('shm');
if (!('addon' in load)) throw new Error('unreachable');
const { addon } = load;

test('making a board session warms the young generation: three scavenges, once per process', () => {
  const name = boardSegmentName(randomBytes(16).toString('hex'), 'warm');
  const sessions = [0, 1].map((rank) => new NativeBoardSession(addon, name, rank, 2, BOARD_BUFFER_BYTES, 5000));
  try {
    // Asked not to warm, it returns the figures of the warm-up the sessions already made.
    const first = warmYoungGeneration(false);
    assert.ok(first.scavenges >= 3, `the sessions' warm-up saw ${first.scavenges} scavenges, not 3`);
    assert.ok(first.bytes > 0);
    assert.is(warmYoungGeneration(true), first, 'a second warm-up is the first one, not another');
  } finally {
    for (const session of sessions) session.close();
  }
});

test('WEBCCL_WARM_HEAP=off: a board session allocates nothing to warm the heap', () => {
  const module = (path: string) => JSON.stringify(fileURLToPath(new URL(path, import.meta.url)));
  const script = [
    `import { loadNative } from ${module('../lib/native/load.ts')};`,
    `import { boardSegmentName, NativeBoardSession } from ${module('../lib/native/board.ts')};`,
    `import { warmYoungGeneration } from ${module('../lib/native/young-generation.ts')};`,
    `const { addon } = loadNative();`,
    `const session = new NativeBoardSession(addon, boardSegmentName('${randomBytes(16).toString('hex')}', 'cold'), 0, 1, 1 << 20, 5000);`,
    `console.log(JSON.stringify(warmYoungGeneration(true)));`,
    `session.close();`,
  ].join('\n');
  const register = fileURLToPath(new URL('./register.mjs', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', register, '--input-type=module', '-e', script], {
    env: { ...process.env, WEBCCL_WARM_HEAP: 'off' }, encoding: 'utf8', timeout: 60_000,
  });
  assert.is(child.status, 0, child.stderr);
  assert.equal(JSON.parse(child.stdout.trim()), { scavenges: 0, bytes: 0 }, 'off: the board did not warm, so a later warm-up is the skipped one');
});

test.run();
