// Checks shared by the mesh fault suites (websocket and tcp): after a fault on one connection
// the others still carry messages, a slow reader holds a fast sender back, and the hellos a
// listening rank of a 3-rank world refuses.
import * as assert from 'uvu/assert';
import { generateSecret } from '../../lib/rendezvous/unique-id.js';
import type { WireLimits } from '../../lib/transport/framed/limits.js';
import type { FramedTransport } from '../../lib/transport/framed/framed-transport.js';
import type { Transport } from '../../lib/transport/transport.js';
import { header, pattern } from '../transport-conformance.js';
import { within } from '../within.js';

/** `a` and `b` can still exchange a message (after a fault on some other connection). */
export async function stillTalking(a: Transport, b: Transport, seq: number): Promise<void> {
  await within(a.send(b.rank, header(0, seq), pattern(300, seq)), 2000, 'send');
  assert.equal([...(await within(b.recv(a.rank, 0, seq), 2000, 'recv')).payload], [...pattern(300, seq)]);
}

/** Small limits, so that 48 MiB to a reader that does not read must stall the sender. */
export const SLOW_READER_LIMITS: Partial<WireLimits> = { maxSegmentBytes: 256 << 10, sendHighWaterBytes: 1 << 20, receiveHighWaterBytes: 2 << 20 };

/** Rank 0 sends 48 MiB to rank 1, which reads nothing for a while: the sender must wait and the receiver's queue stay bounded. */
export async function checkBoundedBackpressure(connect: (rank: number) => Promise<Transport>): Promise<void> {
  const [a, b] = await within(Promise.all([0, 1].map(connect)), 5000, 'mesh');
  const messages = 48;
  const bytes = 1 << 20;
  let sent = 0;
  const sending = (async () => {
    for (let i = 0; i < messages; i++) {
      await a!.send(1, header(0, 0, i), pattern(bytes, i));
      sent++;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 800));
  const queued = (b as FramedTransport).queuedBytes(0);
  assert.ok(sent < messages, `all ${messages} MiB were accepted with nobody reading`);
  // Kernel socket buffers hold some more, but not the whole 48 MiB.
  assert.ok(queued <= SLOW_READER_LIMITS.receiveHighWaterBytes! + bytes, `receiver queued ${queued} bytes`);
  for (let i = 0; i < messages; i++) {
    const m = await within(b!.recv(0, 0, 0), 5000, `message ${i}`);
    assert.is(m.header.chunk, i);
    assert.is(m.payload[12345], pattern(bytes, i)[12345]);
  }
  await within(sending, 5000, 'sender finishes once the reader drains');
  await Promise.all([a!.close(), b!.close()]);
}

/**
 * Hellos rank 0 of a 3-rank world (rank 2 already connected) must refuse, with the close code and
 * reason each gets: a wrong secret, ranks outside the world or its own, a duplicate, another world.
 */
export function strangerHellos(secret: string): ReadonlyArray<readonly [{ secret: string; rank: number; world?: string }, number, RegExp]> {
  return [
    [{ secret: generateSecret(), rank: 1 }, 4401, /^wrong secret from a caller claiming rank 1$/],
    [{ secret, rank: 7 }, 4400, /unknown rank 7 for size 3/],
    [{ secret, rank: 0 }, 4400, /unknown rank 0 \(dialling rank 0\) for rank 0/],
    [{ secret, rank: 2 }, 4409, /rank 2 is already connected/],
    [{ secret, rank: 1, world: 'elsewhere' }, 4400, /rank 1 is in world 'elsewhere' of size 3/],
  ];
}
