// The buffers of one measured column: out-of-place (separate send and receive buffers) or in
// place (NCCL's convention: allgather sends from the rank's slot of the receive buffer,
// reducescatter receives into the rank's slot of the send buffer, the others use one buffer).
import type { DataType, ElementArray } from '../../lib/dtype.js';
import { allocateElements, poison } from './data.js';
import type { BufferLayout } from './layout.js';
import type { PerfCollective } from './names.js';
import type { ElementStore, Operand } from './store.js';

export type PlacementKind = 'out-of-place' | 'in-place';

export interface Placement {
  readonly send: Operand;
  readonly recv: Operand;
  /** Puts the rank's input where the call reads it and a poison value where it must write. */
  prepare(data: RowData): Promise<void>;
  /** `count` receive elements from the output's element `from`, after the call. */
  output(from: number, count: number): Promise<ElementArray>;
  destroy(): void;
}

export type StoreFactory = (length: number) => ElementStore;

/**
 * What a row's placements write before their calls: the rank's input and poison for what the
 * call must write. Made once per row and shared by its measurements, so that they leave no
 * garbage for V8 to collect during the next timed calls (host-arrays.ts).
 */
export interface RowData {
  readonly input: ElementArray;
  /** Poisons `count` elements of `store` from `offset`. */
  poison(store: ElementStore, offset: number, count: number): Promise<void>;
}

/** Poison is written a slice at a time: a whole-buffer poison array was one more copy of the largest buffer. */
const POISON_SLICE_ELEMENTS = 1 << 20;

export function rowData(dtype: DataType, input: ElementArray): RowData {
  let poisoned: ElementArray | undefined;
  return {
    input,
    async poison(store, offset, count) {
      const slice = Math.min(count, POISON_SLICE_ELEMENTS);
      if (poisoned === undefined || poisoned.length < slice) {
        poisoned = allocateElements(dtype, slice);
        poison(dtype, poisoned);
      }
      for (let done = 0; done < count; done += slice) {
        await store.write(offset + done, poisoned.subarray(0, Math.min(slice, count - done)));
      }
    },
  };
}

function outOfPlace(dtype: DataType, layout: BufferLayout, makeStore: StoreFactory): Placement {
  const send = makeStore(layout.sendCount);
  const recv = makeStore(layout.recvCount);
  return {
    send: send.operand(0, layout.sendCount),
    recv: recv.operand(0, layout.recvCount),
    async prepare(data) {
      await send.write(0, data.input);
      await data.poison(recv, 0, layout.recvCount);
    },
    output: (from, count) => recv.read(from, count),
    destroy() { send.destroy(); recv.destroy(); },
  };
}

function inPlace(collective: PerfCollective, dtype: DataType, layout: BufferLayout, rank: number, makeStore: StoreFactory): Placement {
  const length = Math.max(layout.sendCount, layout.recvCount);
  const store = makeStore(length);
  const slot = rank * layout.callCount;
  const whole = store.operand(0, length);
  if (collective === 'allgather') {
    return {
      send: store.operand(slot, layout.sendCount), recv: whole,
      async prepare(data) {
        await data.poison(store, 0, length);
        await store.write(slot, data.input);
      },
      output: (from, count) => store.read(from, count),
      destroy: () => store.destroy(),
    };
  }
  const outputAt = collective === 'reducescatter' ? slot : 0;
  // The very same operand object, so that a library testing `send === recv` sees an in-place call.
  const recv = outputAt === 0 && layout.recvCount === length ? whole : store.operand(outputAt, layout.recvCount);
  return {
    send: whole, recv,
    prepare: (data) => store.write(0, data.input),
    output: (from, count) => store.read(outputAt + from, count),
    destroy: () => store.destroy(),
  };
}

export function createPlacement(kind: PlacementKind, collective: PerfCollective, dtype: DataType, layout: BufferLayout, rank: number, makeStore: StoreFactory): Placement {
  return kind === 'out-of-place' ? outOfPlace(dtype, layout, makeStore) : inPlace(collective, dtype, layout, rank, makeStore);
}
