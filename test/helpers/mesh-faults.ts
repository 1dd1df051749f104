// Checks shared by the mesh fault suites (websocket and tcp): after a fault on one connection
// the others still carry messages, and a slow reader holds a fast sender back.
import * as assert from 'uvu/assert';
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
