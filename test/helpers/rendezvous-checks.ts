// Checks that a rendezvous server still does its job (after an attack): its store answers and
// its relay carries a 2-rank world's messages.
import * as assert from 'uvu/assert';
import { StoreClient } from '../../lib/rendezvous/store-client.js';
import { nodeWebSocket } from '../../lib/transport/handshake/node-web-socket.js';
import { connectRelay } from '../../lib/rendezvous/relay-client.js';
import { stillTalking } from './mesh-faults.js';
import { within } from '../within.js';

let worlds = 0;

export async function storeStillWorks(id: string): Promise<void> {
  const client = await within(StoreClient.connect({ id, WebSocket: nodeWebSocket(), timeoutMs: 3000 }), 4000, 'store connect');
  await within(client.set('still-works', 'fine'), 2000, 'set');
  assert.is(await within(client.getString('still-works'), 2000, 'get'), 'fine');
  client.close();
}

export async function relayStillWorks(id: string): Promise<void> {
  const world = `still-works-${worlds++}`;
  const ranks = await within(Promise.all([0, 1].map((rank) => connectRelay({ id, rank, size: 2, world, WebSocket: nodeWebSocket(), timeoutMs: 5000 }))), 6000, 'relay world');
  await stillTalking(ranks[0]!, ranks[1]!, 0);
  await Promise.all(ranks.map((rank) => rank.close()));
}
