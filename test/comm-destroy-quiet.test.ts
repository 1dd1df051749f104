// A clean destroy() is not a failure: with WEBCCL_DEBUG=WARN nothing is logged, with INFO the
// communicator says it was destroyed. What a user must act on (abort, a failed peer) still warns.
// Run in child processes: the log level is read once per process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

const SCRIPT = `
  import { Communicator, getUniqueId } from './lib/index.node.ts';
  const id = await getUniqueId({ transport: 'inproc' });
  const comms = await Promise.all([0, 1].map((rank) => Communicator.init({ id, rank, size: 2 })));
  const data = [Float32Array.of(1), Float32Array.of(2)];
  await Promise.all(comms.map((c, r) => c.allReduce(data[r], data[r], 1, 'float32', 'sum')));
  if (process.argv.includes('abort')) await comms[0].abort();
  await Promise.all(comms.map((c) => c.destroy()));
  console.log('sum', data[1][0]);
`;

function run(debug: string, ...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', './test/register.mjs', '--input-type=module', '-e', SCRIPT, '--', ...args], {
    encoding: 'utf8', timeout: 30_000, env: { ...process.env, WEBCCL_DEBUG: debug },
  });
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, /sum 3/);
  return result.stderr;
}

test('clean destroy: no WARN; at INFO it says so', () => {
  assert.is(run('WARN'), '');
  assert.match(run('INFO'), /COLL INFO rank 0 of 2 \(communicator 0\): InvalidUsage: rank 0 of 2 \(communicator 0\) was destroyed/);
});

test('abort() still warns', () => {
  assert.match(run('WARN', 'abort'), /COLL WARN .*aborted by abort\(\) on this rank/);
});

test.run();
