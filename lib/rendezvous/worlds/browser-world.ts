// The `webccl://` and `webccl+relay://` worlds in a browser: a page cannot listen, so the id must come from a running
// server (`npx webccl serve`, or a Node rank's getUniqueId) and ranks talk through its relay.
import type { WorldProvider } from '../../transport/world.js';
import { invalidUsage } from '../../errors.js';
import { idScheme } from '../unique-id.js';
import { connectRelay } from '../relay-client.js';

function browserRelayWorldOf(transport: 'websocket' | 'relay'): WorldProvider {
  return {
    scheme: idScheme(transport),
    transport,
    async createId() {
      throw invalidUsage('getUniqueId: a browser cannot host the rendezvous server; start one with `npx webccl serve` and pass its id to every rank');
    },
    connect(id, rank, size, { timeoutMs }) {
      return connectRelay({ id, rank, size, timeoutMs });
    },
  };
}

/** `webccl://` ids (a browser cannot join a mesh, so it takes the relay) and `webccl+relay://` ids (`webccl serve`'s). */
export const browserRelayWorld: WorldProvider = browserRelayWorldOf('websocket');
export const browserRelayOnlyWorld: WorldProvider = browserRelayWorldOf('relay');
