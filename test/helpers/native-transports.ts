// The transports over the native addon's providers (shm: ranks on one host; ntcp: native tcp),
// as the suites that run once per transport see them: how to form a world, which names a job
// may leave in /dev/shm. test/{comm,mesh,processes}-native suites take one of these.
import { readdirSync } from 'node:fs';
import { describeUnavailable, loadNative } from '../../lib/native/load.js';
import type { NativeLoad } from '../../lib/native/addon.js';
import { shmPrefix } from '../../lib/native/shm.js';
import { parseUniqueId } from '../../lib/rendezvous/unique-id.js';
import { connectNtcpMesh } from '../../lib/rendezvous/worlds/ntcp-world.js';
import { connectShmMesh } from '../../lib/rendezvous/worlds/shm-world.js';
import type { WireLimits } from '../../lib/transport/framed/limits.js';
import type { Transport } from '../../lib/transport/transport.js';

export type NativeTransport = 'shm' | 'ntcp';

export interface MeshSpec {
  readonly id: string;
  readonly rank: number;
  readonly size: number;
  readonly world: string;
  readonly limits: Partial<WireLimits>;
  readonly timeoutMs: number;
}

/**
 * The loaded addon, or a thrown error naming the suite that needs it (suites fail, never skip).
 * SHM_ADDON: another build of the addon to run a suite against (checking a fix fails before it).
 */
export function requireAddon(transport: NativeTransport): NativeLoad {
  const loaded = loadNative(process.env['SHM_ADDON']);
  if (!('addon' in loaded)) throw new Error(`the ${transport} suite needs the addon: ${describeUnavailable(loaded)}`);
  return loaded;
}

/** One rank's mesh of `transport` (ntcp listens on loopback). */
export function connectNativeMesh(transport: NativeTransport, spec: MeshSpec, addon: NativeLoad): Promise<Transport> {
  return transport === 'shm' ? connectShmMesh(spec, addon) : connectNtcpMesh({ ...spec, host: '127.0.0.1' }, addon);
}

/** Names of the job of `id` in /dev/shm (the shm provider's segments; ntcp makes none). */
export function shmLeftovers(id: string): string[] {
  return readdirSync('/dev/shm').filter((name) => name.includes(shmPrefix(parseUniqueId(id).secret)));
}
