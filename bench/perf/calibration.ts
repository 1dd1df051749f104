// webccl-perf --calibrate: the cost model's microbenchmarks (lib/tune/calibrate.ts) on the
// run's communicators, and the tuning file rank 0 writes (WEBCCL_TUNING_FILE reads it at init).
import { writeFileSync } from 'node:fs';
import type { Communicator } from '../../lib/index.node.js';
import { calibrate, type Calibration, type CalibrationComm } from '../../lib/tune/calibrate.js';
import { tuningFileText, type TuningWorld } from '../../lib/tune/tuning-file.js';
import { tuningWorld } from '../../lib/comm/tuning.js';

/** Calibration's view of a communicator: ring exchange through send/recv, max through allReduce. */
export function calibrationComm(comm: Communicator): CalibrationComm {
  const next = (comm.rank + 1) % comm.size;
  const prev = (comm.rank - 1 + comm.size) % comm.size;
  return {
    rank: comm.rank,
    size: comm.size,
    async exchange(send, recv) {
      const words = (bytes: Uint8Array) => new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      comm.groupStart();
      const calls = [comm.send(words(send), send.length / 4, 'uint32', next), comm.recv(words(recv), recv.length / 4, 'uint32', prev)];
      await comm.groupEnd();
      await Promise.all(calls);
    },
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
