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
  /** The receive elements after the call. */
  output(): Promise<ElementArray>;
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
  /** `count` poison elements (the same array each time for a count). */
  poisoned(count: number): ElementArray;
}

export function rowData(dtype: DataType, input: ElementArray): RowData {
  const made = new Map<number, ElementArray>();
  return {
    input,
    poisoned(count) {
      let array = made.get(count);
      if (array === undefined) {
        array = allocateElements(dtype, count);
        poison(dtype, array);
        made.set(count, array);
      }
      return array;
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
      await recv.write(0, data.poisoned(layout.recvCount));
    },
    output: () => recv.read(0, layout.recvCount),
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
        await store.write(0, data.poisoned(length));
        await store.write(slot, data.input);
      },
      output: () => store.read(0, length),
      destroy: () => store.destroy(),
    };
  }
  const outputAt = collective === 'reducescatter' ? slot : 0;
  // The very same operand object, so that a library testing `send === recv` sees an in-place call.
  const recv = outputAt === 0 && layout.recvCount === length ? whole : store.operand(outputAt, layout.recvCount);
  return {
    send: whole, recv,
    prepare: (data) => store.write(0, data.input),
    output: () => store.read(outputAt, layout.recvCount),
    destroy: () => store.destroy(),
  };
}

export function createPlacement(kind: PlacementKind, collective: PerfCollective, dtype: DataType, layout: BufferLayout, rank: number, makeStore: StoreFactory): Placement {
  return kind === 'out-of-place' ? outOfPlace(dtype, layout, makeStore) : inPlace(collective, dtype, layout, rank, makeStore);
}
