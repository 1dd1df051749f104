// A native transport's mesh (shm or ntcp) on its own: the shared Transport conformance suite,
// the transport's description, and mixed sizes back to back across segment boundaries (8-byte
// aligned payloads). shm-mesh.test.ts and ntcp-mesh.test.ts run it, then add their own tests.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RendezvousServer } from '../../lib/rendezvous/rendezvous-server.js';
import { formatUniqueId, parseUniqueId } from '../../lib/rendezvous/unique-id.js';
import type { WireLimits } from '../../lib/transport/framed/limits.js';
import type { Transport } from '../../lib/transport/transport.js';
import { mixedSizesArrive, registerTransportConformance } from '../transport-conformance.js';
import { within } from '../within.js';
import { connectNativeMesh, requireAddon, shmLeftovers, type NativeTransport } from './native-transports.js';

export interface MeshSuite {
  /** The job's id (a real rendezvous server's). */
  readonly id: string;
  /** A world of `size` ranks in this process. */
  world(size: number, limits?: Partial<WireLimits>): Promise<Transport[]>;
}

/** Registers the shared tests; the caller adds its own and calls test.run(). */
export async function registerMeshNativeSuite(transport: NativeTransport): Promise<MeshSuite> {
  const addon = requireAddon(transport);
  const server = await RendezvousServer.start();
  test.after(() => server.close());
  const id = formatUniqueId({ ...parseUniqueId(server.id), transport });
  let worlds = 0;
  const world = (size: number, limits: Partial<WireLimits> = {}) => {
    const name = `${transport[0]}${worlds++}`;
    return Promise.all(Array.from({ length: size }, (_, rank) => connectNativeMesh(transport, { id, rank, size, world: name, limits, timeoutMs: 5000 }, addon)));
  };

  registerTransportConformance(`${transport} mesh`, (size) => world(size));

  test(`description is ${transport}; a formed world leaves no names in /dev/shm`, async () => {
    const [a, b, c] = await within(world(3), 5000, 'world');
    assert.is(a!.description, transport);
    assert.equal(shmLeftovers(id), []);
    await Promise.all([a!.close(), b!.close(), c!.close()]);
    assert.equal(shmLeftovers(id), []);
  });

  test('mixed sizes back to back arrive intact and 8-byte aligned, across segment boundaries', async () => {
    const [a, b] = await within(world(2, { maxSegmentBytes: 100_000 }), 5000, 'world');
    const sizes = [0, 1, 7, 56, 8191, 99_999, 100_000, 100_001, 333_333, 3, 5 << 20];
    await mixedSizesArrive(a!, b!, sizes);
    await Promise.all([a!.close(), b!.close()]);
  });
  return { id, world };
}
