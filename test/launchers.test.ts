// fromEnv's launchers (lib/comm/launchers.ts): the variables of torchrun/webccl-run, Open MPI,
// PMI and Slurm, set by the test; Slurm node lists; the error naming them all. Then two real
// launches on loopback, with only Open MPI's and only Slurm's variables, allreduce exact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { findFreePort } from '../bin/launch/launch.js';
import { firstHost, launchedRank } from '../lib/comm/launchers.js';
import { Communicator } from '../lib/index.node.js';
import { within } from './within.js';

const LAUNCH_VARIABLE = /^(WEBCCL_(RANK|WORLD_SIZE|ID)|RANK|WORLD_SIZE|LOCAL_(RANK|WORLD_SIZE)|MASTER_(ADDR|PORT)|OMPI_|PMI_|MPI_LOCAL|SLURM_)/;
const saved = { ...process.env };

/** Runs `body` with exactly `env`'s launch variables set (and no others). */
function withEnv<T>(env: Record<string, string>, body: () => T): T {
  for (const name of Object.keys(process.env)) if (LAUNCH_VARIABLE.test(name)) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return body();
  } finally {
    for (const name of Object.keys(process.env)) if (LAUNCH_VARIABLE.test(name)) delete process.env[name];
    for (const [name, value] of Object.entries(saved)) if (LAUNCH_VARIABLE.test(name)) process.env[name] = value;
  }
}

test('Slurm node lists: the first host', () => {
  assert.is(firstHost('node[01-04],gpu7'), 'node01');
  assert.is(firstHost('gpu7,node[01-04]'), 'gpu7');
  assert.is(firstHost('node[3,5-9]'), 'node3');
  assert.is(firstHost('rack[2-3]-n[5,7]'), 'rack2-n5');
  assert.is(firstHost('login1'), 'login1');
  assert.throws(() => firstHost('node[01-'), /cannot read a host from the node list "node\[01-"; set MASTER_ADDR/);
});

test('torchrun / webccl-run: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT', () => {
  const rank = withEnv({ RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1', MASTER_ADDR: '10.0.0.1', MASTER_PORT: '1234' }, () => launchedRank());
  assert.equal(rank, { launcher: 'torchrun', rank: 3, size: 4, localRank: 1, masterAddr: '10.0.0.1', masterPort: 1234 });
});

test('Open MPI: OMPI_COMM_WORLD_*; all ranks on one node means loopback, else MASTER_ADDR', () => {
  const local = { OMPI_COMM_WORLD_RANK: '2', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_RANK: '2', OMPI_COMM_WORLD_LOCAL_SIZE: '4' };
  assert.equal(withEnv(local, () => launchedRank()), { launcher: 'Open MPI', rank: 2, size: 4, localRank: 2, masterAddr: '127.0.0.1', masterPort: 29500 });
  const twoNodes = { ...local, OMPI_COMM_WORLD_LOCAL_SIZE: '2' };
  assert.is(withEnv(twoNodes, () => launchedRank()).masterAddr, undefined);
  assert.is(withEnv({ ...twoNodes, MASTER_ADDR: 'head', MASTER_PORT: '2950' }, () => launchedRank()).masterAddr, 'head');
});

test('PMI (MPICH hydra): PMI_RANK, PMI_SIZE, MPI_LOCALRANKID', () => {
  const env = { PMI_RANK: '1', PMI_SIZE: '2', MPI_LOCALRANKID: '1', MPI_LOCALNRANKS: '2' };
  assert.equal(withEnv(env, () => launchedRank()), { launcher: 'PMI', rank: 1, size: 2, localRank: 1, masterAddr: '127.0.0.1', masterPort: 29500 });
});

test('Slurm: SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID; the first node of the list; a port from the job id', () => {
  const env = { SLURM_PROCID: '5', SLURM_NTASKS: '8', SLURM_LOCALID: '1', SLURM_JOB_NODELIST: 'gpu[07-10]', SLURM_NNODES: '4', SLURM_JOB_ID: '123456' };
  assert.equal(withEnv(env, () => launchedRank()), { launcher: 'Slurm', rank: 5, size: 8, localRank: 1, masterAddr: 'gpu07', masterPort: 15000 + 3456 });
  assert.is(withEnv({ ...env, SLURM_NNODES: '1' }, () => launchedRank()).masterAddr, '127.0.0.1');
  assert.is(withEnv({ ...env, MASTER_ADDR: 'head', MASTER_PORT: '7' }, () => launchedRank()).masterPort, 7);
});

test('torchrun variables win over an outer launcher (torchrun inside srun); fromEnv options win over all', () => {
  const env = { SLURM_PROCID: '0', SLURM_NTASKS: '1', RANK: '1', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1' };
  assert.equal(withEnv(env, () => [launchedRank().launcher, launchedRank().rank]), ['torchrun', 1]);
  assert.is(withEnv(env, () => launchedRank({ rank: 0 }).rank), 0);
});

test('nothing set: the error names every launcher and its variables', async () => {
  const error = await withEnv({}, () => Communicator.fromEnv().then(() => undefined, (e: Error) => e));
  for (const variable of ['RANK', 'WORLD_SIZE', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'PMI_RANK', 'PMI_SIZE', 'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID']) {
    assert.match(error!.message, new RegExp(`\\b${variable}\\b`));
  }
  assert.match(error!.message, /^InvalidArgument: fromEnv: /);
});

const children: ChildProcess[] = [];
test.after(() => { for (const child of children) child.kill('SIGKILL'); });

function startRank(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !LAUNCH_VARIABLE.test(name)));
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'test/workers/comm-rank.ts', 'allreduce'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...inherited, ...env },
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk; });
  child.stderr!.on('data', (chunk: Buffer) => { out += chunk; });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

async function launch(envOf: (rank: number) => Record<string, string>): Promise<void> {
  const results = await within(Promise.all([0, 1].map((rank) => startRank(envOf(rank)))), 60_000, 'ranks exit');
  for (const { code, out } of results) {
    assert.is(code, 0, out);
    const reduced = out.split('\n').filter((line) => line.includes('"reduced"')).map((line) => (JSON.parse(line) as { wrong: number }).wrong);
    assert.equal(reduced, [-1, -1], out);
  }
}

test('mpirun-like launch: only OMPI_COMM_WORLD_* (and the port) set, 2 processes, allreduce exact', async () => {
  const port = String(await findFreePort('127.0.0.1'));
  await launch((rank) => ({
    OMPI_COMM_WORLD_RANK: String(rank), OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_LOCAL_RANK: String(rank), OMPI_COMM_WORLD_LOCAL_SIZE: '2', MASTER_PORT: port,
  }));
});

/** A job id whose derived port (15000 + id % 10000) is free on loopback now (bounded tries). */
async function jobIdWithFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const id = 1000 + Math.floor(Math.random() * 1e6);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer().once('error', () => resolve(false)).listen(15000 + (id % 10000), '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return id;
  }
  throw new Error('no free port in 15000-24999');
}

test('srun-like launch: only SLURM_* set (node list "localhost", port from the job id), 2 processes, allreduce exact', async () => {
  const job = String(await jobIdWithFreePort());
  await launch((rank) => ({
    SLURM_PROCID: String(rank), SLURM_NTASKS: '2', SLURM_LOCALID: String(rank), SLURM_JOB_NODELIST: 'localhost', SLURM_JOB_ID: job,
  }));
});

test.run();
