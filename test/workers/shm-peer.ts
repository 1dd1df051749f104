// A second process for the shm provider tests: holds a context, one 8 MiB region and one
// endpoint, and does what the parent asks over the IPC channel (fork), replying to each command.
// `start` may name the provider ({ kind: 'tcp' } for the native tcp tests); shm by default.
import { createHash } from 'node:crypto';
import { loadNative } from '../../lib/native/load.js';
import { ShmContext, type ShmEndpoint } from '../../lib/native/shm.js';
import { hammer } from '../helpers/shm-hammer.js';

export const REGION_BYTES = 8 << 20;

export function pattern(length: number, fill: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + fill) & 255;
  return bytes;
}

if (process.send) {
  const loaded = loadNative();
  if (!('addon' in loaded)) throw new Error(loaded.unavailable);
  const addon = loaded.addon;
  const region = new Uint8Array(REGION_BYTES);
  let context: ShmContext | undefined;
  let endpoint: ShmEndpoint | undefined;
  let key = 0;
  process.on('message', async (message: Record<string, any>) => {
    try {
      switch (message.cmd) {
        case 'start':
          context = new ShmContext(addon, message.secret, message.provider);
          key = context.registerMemory(region);
          endpoint = context.createEndpoint(message.label);
          return process.send!({ address: endpoint.address(), key });
        case 'connect':
          endpoint!.connect(message.address);
          return process.send!({ ok: true });
        case 'send':
          region.set(pattern(message.length, message.fill), message.offset);
          return process.send!(await endpoint!.send(key, message.offset, message.length));
        case 'sends': {
          // Several sends posted at once, each { offset, length, fill }, in order on the wire: their completions.
          const posted = message.sends.map(({ offset, length, fill }: Record<string, number>) => {
            region.set(pattern(length!, fill!), offset!);
            return endpoint!.send(key, offset!, length!);
          });
          return process.send!(await Promise.all(posted));
        }
        case 'recv': {
          // `count` receives of up to `length` bytes, side by side from offset 0: their sizes and digests, in order.
          const posted = Array.from({ length: message.count }, (_, i) => endpoint!.recv(key, i * message.length, message.length));
          const done = await Promise.all(posted);
          return process.send!(done.map(({ bytes }, i) => ({ bytes, digest: createHash('sha256').update(region.subarray(i * message.length, i * message.length + bytes)).digest('hex') })));
        }
        case 'write':
          region.set(pattern(message.length, message.fill), message.offset);
          return process.send!(await endpoint!.write(key, message.offset, message.length, message.rkey, message.roffset, message.imm));
        case 'expose':
          // Bytes a parent's read() takes by reference (single copy): filled, then their address.
          region.set(pattern(message.length, message.fill), message.offset);
          return process.send!({ address: context!.addressOf(region.subarray(message.offset, message.offset + message.length)) });
        case 'hammer':
          return process.send!(await hammer(endpoint!, key, region, message.count));
        case 'digest':
          return process.send!({ digest: createHash('sha256').update(region.subarray(message.offset, message.offset + message.length)).digest('hex') });
        case 'destroy':
          context!.destroy();
          process.send!({ ok: true });
          return process.disconnect();
      }
    } catch (error) {
      process.send!({ error: String(error) });
    }
  });
  process.send({ ready: true });
}
