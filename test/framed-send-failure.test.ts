// A message in flight as several segments when its connection drops: the send rejects once,
// with the peer's failure, and the other segments' failed writes are not left unhandled (they
// used to be: each one was an unhandled rejection, which ends a Node process).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FramedTransport } from '../lib/transport/framed/framed-transport.js';
import type { FrameChannel } from '../lib/transport/framed/frame-channel.js';
import { withLimits } from '../lib/transport/framed/limits.js';
import { header } from './transport-conformance.js';
import { rejection } from './within.js';

/** A channel whose writes stay pending until the test fails them all, as a dropped socket does. */
class StalledChannel implements FrameChannel {
  readonly pending: ((error: Error) => void)[] = [];
  write(): Promise<void> {
    return new Promise((_, reject) => this.pending.push(reject));
  }
  failAll(error: Error): void {
    for (const reject of this.pending.splice(0)) reject(error);
  }
  pauseReading(): void {}
  resumeReading(): void {}
  close(): void {}
}

test('segments in flight when the connection drops: one rejection, none unhandled', async () => {
  const unhandled: unknown[] = [];
  const note = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', note);
  try {
    const limits = withLimits({ maxSegmentBytes: 1024, sendHighWaterBytes: 2048 });
    const transport = new FramedTransport({ rank: 0, size: 2, description: 'test', limits, routeTo: () => 0 });
    const channel = new StalledChannel();
    transport.attach(1, channel);
    const sending = transport.send(1, header(0, 0), new Uint8Array(8192));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.is(channel.pending.length, 3, 'three segments handed to the socket: over the 2 KiB high-water mark');
    channel.failAll(new Error('connection reset'));
    const error = await rejection(sending, 2000, 'send');
    assert.match(error.message, /send to peer 1 failed/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(unhandled.map((reason) => (reason as Error).message), []);
    await transport.close();
  } finally {
    process.off('unhandledRejection', note);
  }
});

test.run();
