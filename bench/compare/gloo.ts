// The Gloo contestant: torch.distributed's gloo backend, one Python process per rank, started by
// the same launcher as webccl's ranks. Debian's python3-torch installs torch for /usr/bin/python3,
// which a pyenv or venv `python3` on PATH may hide, so both are tried.
import { launchRanks, findRepoFile } from '../../bin/launch/launch.js';
import { runCommand, tail } from './exec.js';
import { parseTimingLines, type CompareSweep, type PeerResult } from './peer.js';

const NAME = 'gloo';
const PYTHON_CANDIDATES = ['python3', '/usr/bin/python3'];

async function findPythonWithTorch(): Promise<string | undefined> {
  for (const python of PYTHON_CANDIDATES) {
    if ((await runCommand(python, ['-c', 'import torch.distributed'])).code === 0) return python;
  }
  return undefined;
}

export async function measureGloo(sweep: CompareSweep): Promise<PeerResult> {
  if (sweep.collective !== 'allreduce') return { name: NAME, missing: `bench/peers/gloo_allreduce.py times allreduce only, not ${sweep.collective}` };
  const python = await findPythonWithTorch();
  if (python === undefined) return { name: NAME, missing: 'python3 torch not found (apt-get install python3-torch)' };
  const script = findRepoFile('bench/peers/gloo_allreduce.py');
  if (script === undefined) return { name: NAME, missing: 'bench/peers/gloo_allreduce.py not found' };
  const stdout: string[] = [];
  const stderr: string[] = [];
  const result = await launchRanks({
    np: sweep.ranks, command: python,
    args: [script, '--min-bytes', String(sweep.minBytes), '--max-bytes', String(sweep.maxBytes),
      '--factor', String(sweep.stepFactor), '--iters', String(sweep.iters), '--warmup', String(sweep.warmup)],
    // One thread per rank: the ranks already share the cores, as webccl's and MPI's do.
    env: { OMP_NUM_THREADS: '1' },
    onLine: (rank, stream, line) => { (stream === 'stdout' && rank === 0 ? stdout : stderr).push(line); },
  });
  if (result.exitCode !== 0) return { name: NAME, missing: `run failed (${result.reason}): ${tail(stderr.join('\n'))}` };
  return { name: NAME, timesUs: parseTimingLines(stdout) };
}
