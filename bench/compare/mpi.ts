// The Open MPI contestants: the sweep's collective (MPI_Allreduce, MPI_Reduce_scatter_block,
// MPI_Allgather, MPI_Bcast or MPI_Reduce; bench/peers/mpi_collectives.c) over the TCP BTL on
// loopback (shared memory disabled, so that it moves bytes the way webccl's socket transports
// do), `mpi-tcp`, and over the vader
// shared-memory BTL (single-copy where the kernel allows), `mpi-sm`, the peer of webccl's shm.
// The C source is compiled with mpicc into a temporary directory on every run, so nothing is
// built ahead of time. mpirun runs as root in CI containers: --allow-run-as-root and the two
// OMPI_ALLOW_RUN_AS_ROOT variables let it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoFile } from '../../bin/launch/launch.js';
import { runCommand, tail } from './exec.js';
import { parseTimingLines, type CompareSweep, type PeerResult } from './peer.js';

export type MpiBtl = 'tcp' | 'sm';

const BTL_ARGS: Record<MpiBtl, string[]> = {
  tcp: ['--mca', 'btl', 'tcp,self', '--mca', 'btl_tcp_if_include', 'lo'],
  sm: ['--mca', 'btl', 'vader,self'],
};

export async function measureMpi(sweep: CompareSweep, btl: MpiBtl): Promise<PeerResult> {
  const NAME = `mpi-${btl}`;
  const source = findRepoFile('bench/peers/mpi_collectives.c');
  if (source === undefined) return { name: NAME, missing: 'bench/peers/mpi_collectives.c not found' };
  if ((await runCommand('mpicc', ['--version'])).code !== 0) return { name: NAME, missing: 'mpicc not found (apt-get install libopenmpi-dev)' };
  if ((await runCommand('mpirun', ['--version'])).code !== 0) return { name: NAME, missing: 'mpirun not found (apt-get install openmpi-bin)' };

  const dir = await mkdtemp(join(tmpdir(), 'webccl-mpi-'));
  try {
    const binary = join(dir, 'mpi_collectives');
    const compiled = await runCommand('mpicc', ['-O2', '-o', binary, source]);
    if (compiled.code !== 0) return { name: NAME, missing: `mpicc failed: ${tail(compiled.stderr)}` };
    const run = await runCommand('mpirun', [
      '--allow-run-as-root', '--oversubscribe', '-np', String(sweep.ranks),
      ...BTL_ARGS[btl], binary, sweep.collective, String(sweep.minBytes), String(sweep.maxBytes), String(sweep.stepFactor), String(sweep.iters), String(sweep.warmup),
    ], { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' });
    if (run.code !== 0) return { name: NAME, missing: `mpirun failed (code ${run.code}): ${tail(run.stderr)}` };
    return { name: NAME, timesUs: parseTimingLines(run.stdout.split('\n')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
