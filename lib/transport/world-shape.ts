// The check every transport that joins a world makes before it opens anything: `size` is a
// positive integer and `rank` one of its ranks. `what` names the transport in the error.
import { invalidArgument } from '../errors.js';

export function checkWorldShape(what: string, rank: number, size: number): void {
  if (!Number.isInteger(size) || size < 1) throw invalidArgument(`${what}: size ${size} is not a positive integer`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw invalidArgument(`${what}: rank ${rank} is not in 0..${size - 1}`);
}
