// `webccl serve --switch`: the rendezvous server hosts a switch for its relay worlds (UDP on a
// port of its own, the WebSocket door on the server's port, the server's secret). Ranks given
// only the printed id run the switch algorithm; one by UDP and one through the door share a job.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import '../lib/index.node.js'; // the relay world and the switch aggregator
import { Communicator } from '../lib/comm/communicator.js';
import { parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { destroyWorld, oracleReduce, sameElements } from './helpers/comm-world.js';
import { agreedPacketValues, float32Violation, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { within } from './within.js';

const CLI = ['--import', './test/register.mjs', 'bin/webccl.ts', 'serve', '--host', '127.0.0.1'];

test('webccl serve --switch: ranks given only the id allreduce through its switch, by UDP and through the door', async () => {
  const { WEBCCL_SECRET: _a, WEBCCL_SWITCH: _b, WEBCCL_SWITCH_SECRET: _c, ...env } = process.env;
  const child = spawn(process.execPath, [...CLI, '--switch'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await within(new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk;
        if (/^# switch /m.test(stdout)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`webccl serve --switch exited (${code}): ${stderr}`)));
    }), 20_000, 'webccl serve --switch output');
    const id = stdout.split('\n')[0]!.trim();
    const { host, port } = parseUniqueId(id);
    const switchAddress = /^# switch (\S+) \(udp\)/m.exec(stdout)![1]!;
    assert.match(switchAddress, /^127\.0\.0\.1:\d+$/);
    assert.is.not(switchAddress, `${host}:${port}`, 'the switch has a port of its own');

    const size = 2;
    const comms = await within(Promise.all([0, 1].map((rank) => Communicator.init({
      id, rank, size, algorithm: 'switch', timeoutMs: 20_000, ...(rank === 1 ? { switchVia: 'websocket' as const } : {}),
    }))), 20_000, 'relay world');
    try {
      assert.is(comms[0]!.config.switch, `${switchAddress},ws://${host}:${port}/`);
      const count = 5000;
      const ints = [0, 1].map((r) => randomInt32(count, r + 3));
      const intOut = ints.map(() => new Int32Array(count));
      await within(Promise.all(comms.map((c, r) => c.allReduce(ints[r]!, intOut[r]!, count, 'int32', 'sum'))), 20_000, 'int32');
      for (const out of intOut) sameElements(out, oracleReduce(ints, count, 'int32', 'sum'), 'int32');
      const floats = [0, 1].map((r) => randomFloat32(count, r + 8));
      const floatOut = floats.map(() => new Float32Array(count));
      await within(Promise.all(comms.map((c, r) => c.allReduce(floats[r]!, floatOut[r]!, count, 'float32', 'avg'))), 20_000, 'float32');
      sameElements(floatOut[1]!, floatOut[0]!, 'the same bits on both ranks');
      assert.is(float32Violation(floats, floatOut[0]!, agreedPacketValues(comms[0]!), 2), undefined);
    } finally {
      await destroyWorld(comms);
    }
    child.kill('SIGTERM');
    assert.is(await within(exited, 5000, 'exit'), 0);
    assert.is(stderr, '');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('--switch-port without --switch, or not a port, is a clear error', () => {
  for (const [args, pattern] of [
    [['--switch-port', '5000'], /--switch-port goes with --switch/],
    [['--switch', '--switch-port', 'x'], /--switch-port x is not a port number/],
  ] as const) {
    const run = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 15_000 });
    assert.is(run.status, 2, run.stderr);
    assert.match(run.stderr, pattern);
  }
});

test.run();
