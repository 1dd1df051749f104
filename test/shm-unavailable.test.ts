// Without the native addon the shm transport is a clear error wherever it is chosen, and every
// other transport works: each case runs in a child with WEBCCL_NATIVE=0 (the loader's fallback).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { nodeShmWorld } from '../lib/rendezvous/worlds/shm-world.js';
import { WebcclError } from '../lib/errors.js';

const REASON = /shm transport unavailable: WEBCCL_NATIVE=0/;

/** Runs node with `args` (after the TypeScript hooks) in a child without the addon. */
function withoutAddon(args: string[], env: Record<string, string> = {}): { stdout: string; stderr: string; status: number | null } {
  const child = spawnSync(process.execPath, ['--import', './test/register.mjs', ...args], {
    env: { ...process.env, WEBCCL_NATIVE: '0', ...env }, encoding: 'utf8', timeout: 60_000,
  });
  return { stdout: child.stdout, stderr: child.stderr, status: child.status };
}

test('the stub provider names the reason: InvalidArgument for ids, SystemError for joining', async () => {
  const world = nodeShmWorld({ unavailable: 'no compiler' });
  const created = await world.createId({}).then(() => undefined, (error: unknown) => error);
  assert.instance(created, WebcclError);
  assert.is((created as WebcclError).code, 'InvalidArgument');
  assert.match((created as Error).message, /getUniqueId: shm transport unavailable: no compiler/);
  const joined = await world.connect('webccl+shm://127.0.0.1:1/' + '0'.repeat(32), 0, 2, { timeoutMs: 1000 }).then(() => undefined, (error: unknown) => error);
  assert.is((joined as WebcclError).code, 'SystemError');
  assert.match((joined as Error).message, /init: shm transport unavailable: no compiler/);
});

test('getUniqueId, WEBCCL_TRANSPORT=shm and an shm id fail with the reason; tcp still works', () => {
  const { stdout, status } = withoutAddon(['--input-type=module', '-e', `
    import { Communicator, getUniqueId } from './lib/index.node.ts';
    const report = (what, promise) => promise.then(() => console.log(what, 'ok'), (e) => console.log(what, e.code, e.message));
    await report('option', getUniqueId({ transport: 'shm' }));
    await report('env', Communicator.fromEnv());
    await report('id', Communicator.init({ id: 'webccl+shm://127.0.0.1:1/' + '0'.repeat(32), rank: 0, size: 1, timeoutMs: 2000 }));
    const id = await getUniqueId({ transport: 'tcp' });
    const comm = await Communicator.init({ id, rank: 0, size: 1 });
    const data = Float32Array.of(1, 2);
    await comm.allReduce(data, data, 2, 'float32', 'sum');
    console.log('tcp', Array.from(data).join(','));
    await comm.destroy();
  `], { WEBCCL_TRANSPORT: 'shm', RANK: '0', WORLD_SIZE: '1', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '1' });
  assert.is(status, 0, stdout);
  const lines = stdout.trim().split('\n');
  assert.match(lines[0]!, /^option InvalidArgument InvalidArgument: getUniqueId: shm transport unavailable: WEBCCL_NATIVE=0$/);
  assert.match(lines[1]!, /^env InvalidArgument .*fromEnv: shm transport unavailable: WEBCCL_NATIVE=0$/);
  assert.match(lines[2]!, /^id SystemError .*init: shm transport unavailable: WEBCCL_NATIVE=0$/);
  assert.is(lines[3], 'tcp 1,2');
});

test('webccl-perf --transport shm says why and exits non-zero, without a stack trace', () => {
  const { stderr, status } = withoutAddon(['bin/webccl-perf.ts', 'allreduce', '--transport', 'shm', '--np', '2', '-b', '8', '-e', '8']);
  assert.ok(status !== 0 && status !== null, `status ${status}`);
  assert.match(stderr, REASON);
  assert.not.match(stderr, /\n\s+at /, 'no stack trace');
});

test.run();
