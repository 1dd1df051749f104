// A board broadcast whose root dies between publishing its data and its peer's read
// (test/native-board-single-copy.test.ts, test/board-host-buffers.test.ts): rank 1 runs in a
// child process (test/workers/board-root.ts) and is SIGKILLed 500 ms after rank 0 called; rank
// 0's reader is slowed 1.5 s (WEBCCL_BOARD_TEST_READ_DELAY_MS), so the kill falls in between.
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { WebcclError } from '../../lib/errors.js';
import { boardSegmentName, NativeBoardSession } from '../../lib/native/board.js';
import type { NativeAddon } from '../../lib/native/addon.js';
import { BOARD_BUFFER_BYTES } from '../../lib/transport/board.js';
import { rejection, within } from '../within.js';

/**
 * Runs that broadcast of `bytes` with `env` set in both processes (and `rootArgs` after the
 * worker's four) and checks that rank 0 rejects with a RemoteError naming the dead root; returns
 * the segment's name.
 */
export async function checkKilledRoot(addon: NativeAddon, bytes: number, env: Record<string, string>, rootArgs: readonly string[] = []): Promise<string> {
  const name = boardSegmentName(randomBytes(16).toString('hex'), 'dead-root');
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'test/workers/board-root.ts', name, '1', '2', String(bytes), ...rootArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await within(once(child.stdout!, 'data'), 20_000, 'the root process starting');
    const board = withEnv({ ...env, WEBCCL_BOARD_TEST_READ_DELAY_MS: '1500' }, () => new NativeBoardSession(addon, name, 0, 2, BOARD_BUFFER_BYTES, 20_000));
    const call = board.forCall(1);
    const result = call.run(new Uint8Array(bytes), { collective: 'broadcast', dtype: 'uint32', root: 1 });
    setTimeout(() => child.kill('SIGKILL'), 500);
    const error = await rejection(result, 20_000, 'the broadcast from a root killed before the read');
    call.done();
    assert.instance(error, WebcclError);
    assert.is((error as WebcclError).code, 'RemoteError');
    assert.match(error.message, new RegExp(`rank 1 \\(process ${child.pid}\\) died`));
    board.close();
    return name;
  } finally {
    child.kill('SIGKILL');
  }
}

function withEnv<T>(env: Record<string, string>, body: () => T): T {
  const before = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  try {
    return body();
  } finally {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
