// Splitting one kernel launch into pieces small enough to bind. A storage binding may cover at
// most maxStorageBufferBindingSize bytes (128 MiB on many adapters), so a region larger than
// that is processed as consecutive pieces, each with its own bindings and dispatch. (Grids
// beyond 65535 workgroups need no splitting: GpuContext.dispatch folds them into 2-D.)
import { invalidArgument } from '../errors.js';
import type { GpuContext } from './context.js';

export interface Piece {
  /** First unit of the piece. */
  readonly start: number;
  readonly count: number;
}

export interface PieceLimits {
  /** Largest number of bytes one unit occupies in any region the kernel binds. */
  readonly maxBytesPerUnit: number;
  /** Extra bytes a binding spans beyond its own units (e.g. two regions bound together). */
  readonly extraSpanBytes?: number;
  /** Pieces start on multiples of this many units (keeps 16-bit pairs in one word). */
  readonly granule?: number;
  /** A lower binding limit than the device's, for tests of the splitting itself. */
  readonly maxBindingBytes?: number;
}

export function splitIntoPieces(ctx: GpuContext, what: string, units: number, limits: PieceLimits): Piece[] {
  const granule = limits.granule ?? 1;
  const maxBinding = Math.min(ctx.maxBindingBytes, limits.maxBindingBytes ?? Infinity);
  // A binding starts up to (alignment - 4) bytes before its region (see region.ts) and is rounded up to 4.
  const usable = maxBinding - ctx.bindingAlignment - 4 - (limits.extraSpanBytes ?? 0);
  const perPiece = Math.floor(usable / limits.maxBytesPerUnit / granule) * granule;
  if (perPiece < granule) {
    throw invalidArgument(`${what}: the regions cannot be bound together within the device's ${maxBinding}-byte storage binding limit`);
  }
  const pieces: Piece[] = [];
  for (let start = 0; start < units; start += perPiece) pieces.push({ start, count: Math.min(perPiece, units - start) });
  return pieces;
}
