// nccl-tests' "# Using devices" block: one line per rank naming its process, host and adapter.
// Ranks may live in other processes or on other hosts, so each rank's line is gathered through
// the communicator (fixed-size UTF-8 records in a uint32 allGather: the sweep's own channel).
import type { PerfComm } from './sweep.js';

export interface RankDevice {
  readonly rank: number;
  readonly pid: number;
  readonly hostname: string;
  /** Where the buffers live: a GPU adapter or TypedArrays. */
  readonly memory: 'gpu' | 'cpu';
  /** The adapter's name ("cpu" without one). */
  readonly device: string;
}

const RECORD_WORDS = 64; // 256 bytes: a long adapter name is cut, never the fields before it

function encode(device: Omit<RankDevice, 'rank'>): Uint32Array {
  const words = new Uint32Array(RECORD_WORDS);
  const text = new TextEncoder().encode([device.pid, device.hostname, device.memory, device.device].join('\t'));
  new Uint8Array(words.buffer).set(text.subarray(0, RECORD_WORDS * 4));
  return words;
}

function decode(rank: number, words: Uint32Array): RankDevice {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const end = bytes.indexOf(0);
  const [pid, hostname, memory, ...device] = new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end)).split('\t');
  return { rank, pid: Number(pid), hostname: hostname ?? '', memory: memory === 'gpu' ? 'gpu' : 'cpu', device: device.join('\t') };
}

/** Every rank's device, in rank order (every rank must call this, as any collective). */
export async function gatherDevices(comm: PerfComm, mine: Omit<RankDevice, 'rank'>): Promise<RankDevice[]> {
  const all = await comm.allGather(encode(mine));
  return Array.from({ length: comm.size }, (_, rank) => decode(rank, all.subarray(rank * RECORD_WORDS, (rank + 1) * RECORD_WORDS)));
}

/** nccl-tests' lines, its printf widths kept: "#  Rank %2d Group %2d Pid %6d on %10s device %2d [%s] %s". */
export function deviceLines(devices: readonly RankDevice[]): string[] {
  return ['# Using devices', ...devices.map((d) =>
    `#  Rank ${String(d.rank).padStart(2)} Group  0 Pid ${String(d.pid).padStart(6)} on ${d.hostname.padStart(10)} device  0 [${d.memory}] ${d.device}`)];
}
