// webccl-perf --calibrate: the cost model's microbenchmarks (lib/tune/calibrate.ts) on the
// run's communicators, and the tuning file rank 0 writes (WEBCCL_TUNING_FILE reads it at init).
import { writeFileSync } from 'node:fs';
import type { Communicator } from '../../lib/index.node.js';
import { calibrate, type Calibration } from '../../lib/tune/calibrate.js';
import { tuningFileText, type TuningWorld } from '../../lib/tune/tuning-file.js';
import { calibrationComm, tuningWorld } from '../../lib/comm/tuning.js';

/** The world a calibration of `comm` describes (its adapter too when it has a device: GPU figures are that adapter's). */
export function calibratedWorld(comm: Communicator): TuningWorld {
  return tuningWorld(comm.size, comm.transport.description, comm.device);
}

/** Calibrates on every communicator of this process at once; rank 0 writes `path`. */
export async function calibrateTo(comms: readonly Communicator[], path: string): Promise<Calibration> {
  const results = await Promise.all(comms.map((comm) => calibrate(calibrationComm(comm))));
  const zero = comms.findIndex((comm) => comm.rank === 0);
  if (zero >= 0) writeFileSync(path, tuningFileText(calibratedWorld(comms[zero]!), results[zero]!.params, results[zero]!.seconds));
  return results[0]!;
}
