// A fake switch for worker tests: it welcomes one worker on its control port and answers the
// worker's UDP updates as the test says, so a test can play loss, delay and reordering exactly.
import { createServer, type Server } from 'node:net';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import type { Welcome } from '../../lib/switch/control-protocol.js';

/**
 * A one-worker switch that answers each update as `answer` says (a result is the update itself:
 * the sum of one worker), after the job's welcome. Results go out from the UDP port the welcome names.
 */
export async function fakeSwitch(welcome: Omit<Welcome, 't' | 'udpPort'>, answer: (update: Buffer, reply: (bytes: Uint8Array) => void) => void): Promise<{ address: string; close(): Promise<void> }> {
  const udp: UdpSocket = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  let closed = false;
  // Replies held on timers may come after close(): they go nowhere.
  udp.on('message', (msg: Buffer, from: RemoteInfo) => answer(msg, (bytes) => { if (!closed) udp.send(bytes, from.port, from.address); }));
  const control: Server = createServer((socket) => {
    socket.once('data', () => socket.write(`${JSON.stringify({ t: 'welcome', udpPort: udp.address().port, ...welcome })}\n`));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  const port = (control.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      closed = true;
      udp.close();
      await new Promise<void>((resolve) => control.close(() => resolve()));
    },
  };
}

/** The update as its result (message type 2). */
export function resultOf(update: Buffer): Buffer {
  const result = Buffer.from(update);
  result[0] = (2 << 4) | (update[0]! & 0xf);
  return result;
}
