// The tuning file: what `webccl-perf --calibrate` measured, for the world it measured, read at
// init from WEBCCL_TUNING_FILE (or the init option tuningFile). Rank 0's file decides: its
// parameters and the sha-256 of its bytes travel in the agreed configuration, so every rank
// prices calls with the same figures. A file that cannot be used (unreadable, not JSON, cut
// short, another version, another world's size, transport or device, parameters out of range)
// is never fatal: init logs a WARN naming what was wrong and runs on the defaults.
import { checkCostParams, type CostParams } from './params.js';
import type { AgreedTuning } from './select.js';

export const TUNING_FILE_VERSION = 1;

/** The world a file was measured on; a file applies only to the same. */
export interface TuningWorld {
  readonly size: number;
  /** The transport's description (e.g. 'tcp', 'websocket', 'inproc'). */
  readonly transport: string;
  /** The GPU adapter's name for parameters measured on GPU memory, 'cpu' for host memory. */
  readonly device: string;
}

export interface TuningFile {
  readonly webcclTuning: number;
  readonly world: TuningWorld;
  readonly params: CostParams;
  /** When and how long: for people reading the file. */
  readonly created: string;
  readonly calibrationSeconds: number;
}

export function tuningFileText(world: TuningWorld, params: CostParams, calibrationSeconds: number): string {
  const file: TuningFile = { webcclTuning: TUNING_FILE_VERSION, world, params, created: new Date().toISOString(), calibrationSeconds };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Hex sha-256 of `text`'s UTF-8 bytes. */
export async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A usable file, with `stale` naming what it lacked (a file of an older calibration: defaults for those, and a WARN). */
export type TuningOutcome = { readonly tuning: AgreedTuning; readonly stale?: string } | { readonly problem: string };

/**
 * The agreed tuning of a file's `text` for this `world`, or the problem that rules it out
 * (`source` names the file in it). The device is checked only for parameters measured on GPU
 * memory; host-memory figures need no adapter.
 */
export async function readTuning(text: string, source: string, world: TuningWorld): Promise<TuningOutcome> {
  let file: Partial<TuningFile>;
  try {
    file = JSON.parse(text) as Partial<TuningFile>;
  } catch (error) {
    return { problem: `tuning file ${source} is not JSON (corrupt or truncated?): ${(error as Error).message}` };
  }
  if (typeof file !== 'object' || file === null) return { problem: `tuning file ${source} is not a JSON object` };
  if (file.webcclTuning !== TUNING_FILE_VERSION) return { problem: `tuning file ${source} is version ${JSON.stringify(file.webcclTuning)}, not ${TUNING_FILE_VERSION}` };
  const measured = file.world;
  if (typeof measured !== 'object' || measured === null) return { problem: `tuning file ${source} names no world` };
  if (measured.size !== world.size) return { problem: `tuning file ${source} was measured on ${measured.size} ranks, this world has ${world.size}` };
  if (measured.transport !== world.transport) return { problem: `tuning file ${source} was measured over ${JSON.stringify(measured.transport)}, this world runs over ${JSON.stringify(world.transport)}` };
  let params: CostParams;
  const missing: string[] = [];
  try {
    params = checkCostParams(file.params, missing);
  } catch (error) {
    return { problem: `tuning file ${source}: ${(error as Error).message}` };
  }
  if (params.slowRank !== undefined && params.slowRank >= world.size) return { problem: `tuning file ${source}: slowRank ${params.slowRank} is not a rank of this world of ${world.size}` };
  if (params.slowLink !== undefined && params.slowRank === undefined) return { problem: `tuning file ${source}: slowLink is given without the slowRank it measures` };
  if (params.memory === 'gpu' && measured.device !== world.device) {
    return { problem: `tuning file ${source} was measured on ${JSON.stringify(measured.device)}, this rank's device is ${JSON.stringify(world.device)}` };
  }
  // Host-memory worlds never use the GPU terms: only a world with a device misses them.
  const relevant = missing.filter((field) => field !== 'gpu' || world.device !== 'cpu');
  const tuning = { params, digest: await sha256(text) };
  if (relevant.length === 0) return { tuning };
  return { tuning, stale: `tuning file ${source} has no ${relevant.join(', ')} (calibrated by an older webccl); using the defaults for ${relevant.length > 1 ? 'them' : 'it'} (recalibrate with webccl-perf --calibrate)` };
}

/** Where an entry can read files (the Node entry installs node:fs; a browser has none). */
export type TextFileReader = (path: string) => string;

let reader: TextFileReader | undefined;

export function registerTuningFileReader(read: TextFileReader): void {
  reader = read;
}

/** The text of the tuning file at `path`, or the problem reading it. */
export function readTuningText(path: string): { readonly text: string } | { readonly problem: string } {
  if (!reader) return { problem: `tuning file ${path} cannot be read here (no file system; pass its content as the init option tuning)` };
  try {
    return { text: reader(path) };
  } catch (error) {
    return { problem: `tuning file ${path} cannot be read: ${(error as Error).message}` };
  }
}
