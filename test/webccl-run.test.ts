import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseRunArgs } from '../bin/launch/run-args.js';

const dir = mkdtempSync(join(tmpdir(), 'webccl-run-test-'));
const CLI = ['--import', './test/register.mjs', 'bin/webccl-run.ts'];

function script(name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

function webcclRun(...args: string[]) {
  const started = Date.now();
  const result = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { ...result, ms: Date.now() - started };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('args: -np, master address and port, script args pass through untouched', () => {
  assert.equal(parseRunArgs(['-np', '3', 'train.js', '-np', '9', '--lr=1']), { np: 3, nnodes: 1, nodeRank: 0, script: 'train.js', scriptArgs: ['-np', '9', '--lr=1'] });
  assert.equal(parseRunArgs(['--np=2', '--master-port', '2950', 'a.ts']), { np: 2, nnodes: 1, nodeRank: 0, masterPort: 2950, script: 'a.ts', scriptArgs: [] });
  assert.equal(parseRunArgs(['-np', '2', '--nnodes=2', '--node-rank', '1', '--master-addr', '10.0.0.1', '--master-port', '29400', 'a.js']),
    { np: 2, nnodes: 2, nodeRank: 1, masterAddr: '10.0.0.1', masterPort: 29400, script: 'a.js', scriptArgs: [] });
  assert.throws(() => parseRunArgs(['-np', '2', '--nnodes', '2', '--node-rank', '2', '--master-addr', 'a', '--master-port', '1', 'a.js']), /--node-rank needs an integer in \[0, 1\], got 2/);
  assert.throws(() => parseRunArgs(['-np', '2', '--nnodes', '2', 'a.js']), /every host needs the same --master-addr/);
  assert.throws(() => parseRunArgs(['a.js']), /-np N is required/);
  assert.throws(() => parseRunArgs(['-np', 'two', 'a.js']), /-np needs a positive integer, got two/);
  assert.throws(() => parseRunArgs(['-np', '2']), /no script given/);
  assert.throws(() => parseRunArgs(['-x', '2', 'a.js']), /unknown option -x/);
});

test('runs N ranks with the torchrun environment and prefixes their lines', () => {
  const hello = script('hello.js', `
    const { RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT } = process.env;
    console.log('env', RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, process.argv.slice(2).join(','));
    console.error('to stderr', RANK);
  `);
  const run = webcclRun('-np', '3', hello, 'x', '--flag');
  assert.is(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n').sort();
  assert.is(lines.length, 3);
  const port = /(\d+) x,--flag$/.exec(lines[0]!)?.[1];
  assert.ok(port !== undefined && Number(port) > 0, lines[0]);
  lines.forEach((line, rank) => assert.is(line, `[rank${rank}]: env ${rank} 3 ${rank} 127.0.0.1 ${port} x,--flag`));
  assert.match(run.stderr, /\[rank2\]: to stderr 2/);
});

test("Dawn's two harmless limit notices are dropped from the ranks' stderr, other lines kept", () => {
  const noisy = script('noisy.js', `
    for (const kind of ['Uniform', 'Storage']) {
      console.error('Warning: maxDynamic' + kind + 'BuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.');
    }
    console.error('Warning: something a user must read');
  `);
  const run = webcclRun('-np', '2', noisy);
  assert.is(run.status, 0, run.stderr);
  assert.equal(run.stderr.trim().split('\n').sort(), ['[rank0]: Warning: something a user must read', '[rank1]: Warning: something a user must read']);
});

test('runs .ts scripts through the repo TypeScript hooks', () => {
  const typed = script('typed.ts', `const rank: number = Number(process.env.RANK); console.log(\`typed \${rank satisfies number}\`);`);
  const run = webcclRun('-np', '2', typed);
  assert.is(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim().split('\n').sort(), ['[rank0]: typed 0', '[rank1]: typed 1']);
});

test('a failing rank stops the others and its exit code is the result', () => {
  const pidDir = join(dir, 'pids');
  const failing = script('failing.mjs', `
    import { mkdirSync, writeFileSync } from 'node:fs';
    mkdirSync(${JSON.stringify(pidDir)}, { recursive: true });
    writeFileSync(${JSON.stringify(pidDir)} + '/' + process.pid, '');
    if (process.env.RANK === '1') setTimeout(() => { console.error('rank 1 gives up'); process.exit(7); }, 800);
    else setInterval(() => {}, 1000); // would run forever
  `);
  const run = webcclRun('-np', '3', failing);
  assert.is(run.status, 7);
  assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
  assert.match(run.stderr, /\[rank1\]: rank 1 gives up/);
  assert.match(run.stderr, /rank 1 exited with code 7; stopped the other ranks/);
  const pids = readdirSync(pidDir).map(Number);
  assert.is(pids.length, 3);
  for (const pid of pids) assert.not.ok(isAlive(pid), `rank process ${pid} still alive`);
});

test('a rank killed by a signal fails the job with 128 + signal', () => {
  const killed = script('killed.js', `if (process.env.RANK === '0') process.kill(process.pid, 'SIGKILL'); else setInterval(() => {}, 1000);`);
  const run = webcclRun('-np', '2', killed);
  assert.is(run.status, 137);
  assert.match(run.stderr, /rank 0 was killed by SIGKILL/);
});

const libUrl = (path: string) => JSON.stringify(pathToFileURL(resolve(path)).href);

test('every launch gives its ranks a fresh random WEBCCL_SECRET, the one in WEBCCL_ID', () => {
  const show = script('secret.js', `console.log('secret', process.env.WEBCCL_SECRET, process.env.WEBCCL_ID);`);
  const secrets = [1, 2].map(() => {
    const run = webcclRun('-np', '2', show);
    assert.is(run.status, 0, run.stderr);
    const seen = run.stdout.trim().split('\n').map((line) => /secret (\S+) (\S+)$/.exec(line)!.slice(1));
    assert.is(seen.length, 2);
    const [secret, id] = seen[0]!;
    assert.match(secret!, /^[0-9a-f]{32}$/);
    assert.ok(id!.endsWith(`/${secret}`), `${secret} is not the secret of ${id}`);
    assert.equal(seen[1], seen[0]);
    return secret;
  });
  assert.is.not(secrets[0], secrets[1]);
});

test('a stranger who derives the address secret is refused by a webccl-run job\'s store', () => {
  // Rank 0 plays the stranger: it knows MASTER_ADDR, MASTER_PORT and WORLD_SIZE like any local user.
  const stranger = script('stranger.ts', `
    import { deriveAddressSecret } from ${libUrl('lib/rendezvous/address-secret.ts')};
    import { StoreClient } from ${libUrl('lib/rendezvous/store-client.ts')};
    import { nodeWebSocket } from ${libUrl('lib/transport/handshake/node-web-socket.ts')};
    import { formatUniqueId } from ${libUrl('lib/rendezvous/unique-id.ts')};
    const { MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, WEBCCL_ID } = process.env;
    if (RANK === '0') {
      const secret = await deriveAddressSecret(MASTER_ADDR!, Number(MASTER_PORT), Number(WORLD_SIZE), '');
      const id = formatUniqueId({ host: MASTER_ADDR!, port: Number(MASTER_PORT), secret });
      try {
        (await StoreClient.connect({ id, WebSocket: nodeWebSocket(), timeoutMs: 5000 })).close();
        console.log('stranger admitted');
      } catch (error) {
        console.log('stranger refused:', (error as Error).message);
      }
      const member = await StoreClient.connect({ id: WEBCCL_ID!, WebSocket: nodeWebSocket(), timeoutMs: 5000 });
      console.log('member admitted');
      member.close();
    }
  `);
  const run = webcclRun('-np', '2', stranger);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /\[rank0\]: stranger refused: SystemError: .*wrong secret/);
  assert.match(run.stdout, /\[rank0\]: member admitted/);
});

test('bad command lines exit 2 with the usage', () => {
  const run = webcclRun('--bogus', 'x.js');
  assert.is(run.status, 2);
  assert.match(run.stderr, /unknown option --bogus/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
