// The `webccl://` world in Node: getUniqueId starts a rendezvous server in this process and
// every rank joins a websocket mesh through it. Registered by the Node entry.
import type { WorldProvider } from '../../comm/world.js';
import { invalidArgument } from '../../errors.js';
import { secretForAddress } from '../../rendezvous/address-secret.js';
import { RendezvousServer } from '../../rendezvous/rendezvous-server.js';
import { formatUniqueId } from '../../rendezvous/unique-id.js';
import { connectWebSocketMesh } from './websocket-mesh.js';

function optional<T>(value: unknown, type: 'string' | 'number', name: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== type) throw invalidArgument(`getUniqueId: option ${name} must be a ${type}`);
  return value as T;
}

export const nodeWebSocketWorld: WorldProvider = {
  scheme: 'webccl://',
  transport: 'websocket',
  async createId(options) {
    const host = optional<string>(options['host'], 'string', 'host');
    const port = optional<number>(options['port'], 'number', 'port');
    // Unreferenced: the server lives while ranks are connected, and never holds the process alone.
    const server = await RendezvousServer.start({ ...(host === undefined ? {} : { host }), ...(port === undefined ? {} : { port }), unref: true });
    return server.id;
  },
  async idFromAddress(host, port, rank, size) {
    const secret = await secretForAddress(host, port, size);
    // Rank 0 hosts the rendezvous at MASTER_ADDR:MASTER_PORT for as long as its process lives.
    if (rank === 0) await RendezvousServer.start({ host, port, secret, unref: true });
    return formatUniqueId({ host, port, secret });
  },
  connect(id, rank, size, { timeoutMs }) {
    return connectWebSocketMesh({ id, rank, size, timeoutMs });
  },
};
