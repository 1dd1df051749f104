// Which launcher started this rank, read from the variables each one sets, so that
// `torchrun`, `webccl-run`, `mpirun -np 8 node train.js` (Open MPI), MPICH's hydra (PMI) and
// `srun node train.js` (Slurm) all work with Communicator.fromEnv() and no extra code. The first
// launcher (in the order of LAUNCHERS) that set its rank or size variable is the one; rank and
// size given to fromEnv() override its values.
//
// The rendezvous address: MASTER_ADDR/MASTER_PORT when set (every launcher can export them:
// `mpirun -x MASTER_ADDR`, `srun --export=ALL`). Otherwise Slurm's is the first host of the
// step's node list, and a job whose ranks all share one node (every rank's local rank counts up
// to the world size) uses loopback. The port: MASTER_PORT, else a port derived from the Slurm
// job id (so two jobs sharing a node do not meet), else torchrun's default 29500.
import { invalidArgument } from '../errors.js';
import { readEnv } from '../settings.js';

export interface LaunchedRank {
  /** Which launcher's variables these are, for messages. */
  readonly launcher: string;
  readonly rank: number;
  readonly size: number;
  readonly localRank: number | undefined;
  /** Where the rendezvous is, when the environment says (undefined: not known). */
  readonly masterAddr: string | undefined;
  readonly masterPort: number;
}

interface Launcher {
  readonly name: string;
  /** The variables, the first one set counting. */
  readonly rank: readonly string[];
  readonly size: readonly string[];
  readonly localRank?: string;
  /** The number of ranks on this node, when the launcher says: all on one node means loopback. */
  readonly localSize?: string;
  readonly masterAddr?: () => string | undefined;
  readonly masterPort?: () => number | undefined;
}

const SLURM_PORT_BASE = 15000;
/** torchrun's default MASTER_PORT. */
const DEFAULT_PORT = 29500;

const LAUNCHERS: readonly Launcher[] = [
  // webccl-run sets torchrun's variables; WEBCCL_RANK/WEBCCL_WORLD_SIZE take precedence over them.
  { name: 'torchrun', rank: ['WEBCCL_RANK', 'RANK'], size: ['WEBCCL_WORLD_SIZE', 'WORLD_SIZE'], localRank: 'LOCAL_RANK', localSize: 'LOCAL_WORLD_SIZE' },
  {
    name: 'Open MPI', rank: ['OMPI_COMM_WORLD_RANK'], size: ['OMPI_COMM_WORLD_SIZE'],
    localRank: 'OMPI_COMM_WORLD_LOCAL_RANK', localSize: 'OMPI_COMM_WORLD_LOCAL_SIZE',
  },
  { name: 'PMI', rank: ['PMI_RANK'], size: ['PMI_SIZE'], localRank: 'MPI_LOCALRANKID', localSize: 'MPI_LOCALNRANKS' },
  {
    name: 'Slurm', rank: ['SLURM_PROCID'], size: ['SLURM_NTASKS'], localRank: 'SLURM_LOCALID',
    masterAddr: () => {
      // A one-node step stays on loopback (no secret needed there, as with torchrun on one host).
      if ((readEnv('SLURM_STEP_NUM_NODES') || readEnv('SLURM_NNODES')) === '1') return '127.0.0.1';
      const list = readEnv('SLURM_STEP_NODELIST') || readEnv('SLURM_JOB_NODELIST') || readEnv('SLURM_NODELIST');
      return list ? firstHost(list) : undefined;
    },
    masterPort: () => {
      const job = readEnv('SLURM_JOB_ID');
      return job && /^\d+$/.test(job) ? SLURM_PORT_BASE + (Number(job) % 10000) : undefined;
    },
  },
];

/** fromEnv's error when no rank or size is known: every launcher it understands, by its variables. */
export const NO_LAUNCHER = 'fromEnv: set RANK and WORLD_SIZE (torchrun, webccl-run; or WEBCCL_RANK and WEBCCL_WORLD_SIZE), '
  + 'or launch with mpirun (Open MPI: OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK), '
  + 'a PMI launcher such as MPICH\'s mpiexec (PMI_RANK, PMI_SIZE) or srun (Slurm: SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID)';

function integer(...names: string[]): number | undefined {
  for (const name of names) {
    const raw = readEnv(name);
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 0) throw invalidArgument(`fromEnv: ${name}=${raw} is not a non-negative integer`);
    return value;
  }
  return undefined;
}

/**
 * The first host of a Slurm node list: `node[01-04],gpu7` -> node01, `gpu7,node[1-2]` -> gpu7,
 * `rack[2-3]-n[5,7]` -> rack2-n5 (each bracket contributes its first element).
 */
export function firstHost(nodeList: string): string {
  let depth = 0;
  let end = nodeList.length;
  for (let i = 0; i < nodeList.length; i++) {
    const c = nodeList[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === ',' && depth === 0) { end = i; break; }
  }
  const host = nodeList.slice(0, end).replace(/\[([^\]]*)\]/g, (_, inner: string) => inner.split(/[,-]/)[0]!);
  if (host === '' || /[[\]]/.test(host)) throw invalidArgument(`fromEnv: cannot read a host from the node list "${nodeList}"; set MASTER_ADDR`);
  return host;
}

/**
 * This rank as its launcher describes it; `given` rank and size override the environment's.
 * Throws InvalidArgument naming every launcher when rank or size stays unknown.
 */
export function launchedRank(given: { rank?: number | undefined; size?: number | undefined } = {}): LaunchedRank {
  const launcher = LAUNCHERS.find((l) => integer(...l.rank) !== undefined || integer(...l.size) !== undefined) ?? LAUNCHERS[0]!;
  const rank = given.rank ?? integer(...launcher.rank);
  const size = given.size ?? integer(...launcher.size);
  if (rank === undefined || size === undefined) throw invalidArgument(NO_LAUNCHER);
  const localSize = launcher.localSize ? integer(launcher.localSize) : undefined;
  const masterAddr = readEnv('MASTER_ADDR') || launcher.masterAddr?.() || (localSize !== undefined && localSize === size ? '127.0.0.1' : undefined);
  return {
    launcher: launcher.name, rank, size,
    localRank: integer(...(launcher.localRank ? [launcher.localRank] : []), 'LOCAL_RANK'),
    masterAddr,
    masterPort: integer('MASTER_PORT') ?? launcher.masterPort?.() ?? DEFAULT_PORT,
  };
}
