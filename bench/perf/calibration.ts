// webccl-perf --calibrate: the cost model's microbenchmarks (lib/tune/calibrate.ts) on the
// run's communicators, and the tuning file rank 0 writes (WEBCCL_TUNING_FILE reads it at init).
import { writeFileSync } from 'node:fs';
import type { Communicator } from '../../lib/index.node.js';
import { calibrate, type Calibration, type CalibrationComm } from '../../lib/tune/calibrate.js';
import { tuningFileText, type TuningWorld } from '../../lib/tune/tuning-file.js';
import { tuningWorld } from '../../lib/comm/tuning.js';

/** Calibration's view of a communicator: named-algorithm allreduces, and max through allReduce. */
export function calibrationComm(comm: Communicator): CalibrationComm {
  return {
    rank: comm.rank,
    size: comm.size,
    chunkBytes: comm.config.chunkBytes,
    allReduce: (data, algorithm) => comm.allReduce(data, data, data.length, 'float32', 'sum', { algorithm }),
    async maxAll(values) {
      const out = new Float32Array(values.length);
      await comm.allReduce(values, out, values.length, 'float32', 'max');
      return out;
    },
  };
}

/** The world a calibration of `comm` describes (host memory: no device in it). */
export function calibratedWorld(comm: Communicator): TuningWorld {
  return tuningWorld(comm.size, comm.transport.description, undefined);
}

/** Calibrates on every communicator of this process at once; rank 0 writes `path`. */
export async function calibrateTo(comms: readonly Communicator[], path: string): Promise<Calibration> {
  const results = await Promise.all(comms.map((comm) => calibrate(calibrationComm(comm))));
  const zero = comms.findIndex((comm) => comm.rank === 0);
  if (zero >= 0) writeFileSync(path, tuningFileText(calibratedWorld(comms[zero]!), results[zero]!.params, results[zero]!.seconds));
  return results[0]!;
}
