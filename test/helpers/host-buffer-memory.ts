// Where a check's buffers live when they are host buffers (Communicator.allocHostBuffer): each
// placed buffer is a fresh one of `comm`, kept until freeAll frees them all.
import type { Communicator } from '../../lib/comm/communicator.js';
import type { ElementArray } from '../../lib/dtype.js';
import { HOST_MEMORY, type CheckMemory } from './collective-checks.js';

/** Buffers placed in host buffers of `comm` (every one kept, to be freed by `freeAll`). */
export function hostBufferMemory(comm: Communicator): CheckMemory<ElementArray> & { freeAll(): void } {
  const placed: ElementArray[] = [];
  return {
    place: (data) => {
      const Kind = data.constructor as new (buffer: ArrayBuffer) => ElementArray;
      const placedData = new Kind(comm.allocHostBuffer(data.byteLength));
      placedData.set(data);
      placed.push(placedData);
      return placedData;
    },
    block: HOST_MEMORY.block,
    read: HOST_MEMORY.read,
    freeAll: () => placed.splice(0).forEach((buffer) => comm.freeHostBuffer(buffer)),
  };
}
