// Which formation of a world a joining rank belongs to. One id can be joined again after its
// ranks destroyed their communicators: torch's destroy_process_group then init_process_group on
// the same MASTER_PORT, or a script under webccl-run, whose launcher keeps one store for the
// whole job (as torchrun's agent does). The store still holds the last formation's addresses,
// so a rank that came back early would read them and dial listeners that are gone (or, worse,
// still open). Each rank therefore counts its join in the store first: every rank joins once per
// formation and a formation needs them all, so the count says which formation this is, and the
// formation's store keys, segment names and hellos carry it.
import type { StoreClient } from './store-client.js';

/**
 * The store key counting the joins of `world` at `size` over `transport` (one server may hold a
 * websocket and a tcp world of the same name and size: they are two worlds).
 */
function joinsKey(transport: string, world: string, size: number): string {
  return `webccl/${world}/${size}/${transport}-joins`;
}

/**
 * The name this rank's formation of `world` goes by: `world` itself for the first formation
 * (what every earlier release used), `world#<n>` for the n-th after it.
 */
export async function formationWorld(store: StoreClient, transport: string, world: string, size: number): Promise<string> {
  const joins = await store.add(joinsKey(transport, world, size), 1);
  const formation = Math.floor((joins - 1) / size);
  return formation === 0 ? world : `${world}#${formation}`;
}
