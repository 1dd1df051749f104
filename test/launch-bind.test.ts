// The launcher binds its local ranks to CPUs of their own where they fit (bin/launch/bind.ts, as mpirun
// does by default), every thread of a rank included; not where the ranks outnumber its CPUs,
// nor with WEBCCL_BIND=none; a bad WEBCCL_BIND fails the launch; the launcher's own thread
// gets its CPUs back after each spawn.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rankCpus, rankSpawner } from '../bin/launch/bind.js';
import { requireAddon } from './helpers/native-transports.js';

const loaded = requireAddon('shm');
const addon = 'addon' in loaded ? loaded.addon : undefined;
const dir = mkdtempSync(join(tmpdir(), 'webccl-bind-test-'));
// Each rank prints its rank and the CPU lists of all its threads (a rank's V8 and libuv threads start before any user code).
const report = join(dir, 'report.mjs');
writeFileSync(report, `import { readdirSync, readFileSync } from 'node:fs';
const lists = readdirSync('/proc/self/task').map((t) => /^Cpus_allowed_list:\\s*(\\S+)/m.exec(readFileSync('/proc/self/task/' + t + '/status', 'utf8'))[1]);
console.log(JSON.stringify({ rank: Number(process.env.RANK), threads: lists.length, cpus: [...new Set(lists)] }));
`);

/** A CPU list as /proc writes it ("0-2,5") as numbers. */
function cpuNumbers(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
  });
}

const launcherCpus = addon!.threadAffinity!();
const fullList = spawnSync('sh', ['-c', 'grep Cpus_allowed_list /proc/self/status'], { encoding: 'utf8' }).stdout.split(':')[1]!.trim();

function launch(np: number, bind?: string): { status: number | null; stderr: string; ranks: { rank: number; threads: number; cpus: string[] }[] } {
  const env = { ...process.env, ...(bind === undefined ? {} : { WEBCCL_BIND: bind }) };
  if (bind === undefined) delete env['WEBCCL_BIND'];
  const run = spawnSync(process.execPath, ['--import', './test/register.mjs', 'bin/webccl-run.ts', '-np', String(np), report], { encoding: 'utf8', timeout: 60_000, env });
  const ranks = run.stdout.split('\n').filter((line) => line.includes('{')).map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { rank: number; threads: number; cpus: string[] });
  return { status: run.status, stderr: run.stderr, ranks: ranks.sort((a, b) => a.rank - b.rank) };
}

test('rankCpus: the launcher\'s CPUs in order, an even share each (one each where they are as many), while the ranks fit; none beyond', () => {
  assert.equal(rankCpus(2, [3, 5, 7]), [[3], [5, 7]]);
  assert.equal(rankCpus(3, [3, 5, 7]), [[3], [5], [7]]);
  assert.equal(rankCpus(2, [0, 1, 2, 3]), [[0, 1], [2, 3]]);
  assert.equal(rankCpus(1, [0, 1]), [[0, 1]]);
  assert.is(rankCpus(4, [3, 5, 7]), undefined);
});

test('ranks that fit are bound one per CPU, every thread of each; more ranks than CPUs, or WEBCCL_BIND=none, are not', () => {
  const fit = Math.min(2, launcherCpus.length);
  const bound = launch(fit);
  assert.is(bound.status, 0, bound.stderr);
  assert.is(bound.ranks.length, fit);
  const shares = rankCpus(fit, launcherCpus)!;
  bound.ranks.forEach(({ rank, threads, cpus }) => {
    assert.ok(threads > 1, 'a Node process has threads besides the main one');
    assert.is(cpus.length, 1, `rank ${rank}: every thread alike`);
    assert.equal(cpuNumbers(cpus[0]!), shares[rank], `rank ${rank}: its share of the CPUs`);
  });
  assert.ok(launcherCpus.length < 2 || shares[0]![0] !== shares[1]![0], 'the two ranks share no CPU');
  const over = launch(launcherCpus.length + 1);
  assert.is(over.status, 0, over.stderr);
  over.ranks.forEach(({ rank, cpus }) => assert.equal(cpus, [fullList], `rank ${rank} of ${launcherCpus.length + 1}: the launcher's CPUs`));
  const off = launch(fit, 'none');
  assert.is(off.status, 0, off.stderr);
  off.ranks.forEach(({ rank, cpus }) => assert.equal(cpus, [fullList], `rank ${rank}, WEBCCL_BIND=none: the launcher's CPUs`));
});

test('a bad WEBCCL_BIND fails the launch naming it; the spawning thread gets its CPUs back after each rank', () => {
  const bad = launch(1, 'socket');
  assert.ok(bad.status !== 0 && /WEBCCL_BIND=socket is not core or none/.test(bad.stderr), bad.stderr);
  const spawnRank = rankSpawner(launcherCpus.length);
  const during = spawnRank(launcherCpus.length - 1, () => addon!.threadAffinity!());
  assert.equal(during, [launcherCpus[launcherCpus.length - 1]], 'bound to one CPU (as many ranks as CPUs) while the rank is spawned');
  assert.equal(addon!.threadAffinity!(), launcherCpus, 'restored after');
});

test('setThreadAffinity refuses bad CPU lists with a clear error and leaves the thread as it was', () => {
  const set = addon!.setThreadAffinity!;
  const refuses = (cpus: unknown, pattern: RegExp) => assert.throws(() => set(cpus as number[]), pattern, String(cpus));
  refuses([], /non-empty array of CPU numbers/);
  refuses('0', /non-empty array of CPU numbers/);
  refuses(['x'], /a CPU number must be a non-negative integer/);
  refuses([-1], /a CPU number must be a non-negative integer/);
  refuses([1 << 20], /beyond 1023/);
  refuses([1000], /setThreadAffinity: Invalid argument/);
  assert.equal(addon!.threadAffinity!(), launcherCpus);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
