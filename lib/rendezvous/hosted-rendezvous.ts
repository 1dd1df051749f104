// The rendezvous servers this process hosts for worlds it named with getUniqueId, and how long
// each lives (rank 0's under MASTER_ADDR/MASTER_PORT live as long as the process:
// hosted-mesh-world.ts). Ranks need the store only to form their
// mesh, so a server is closed when the last transport of this process that joined through its
// id closes (a world and its splits share one transport; the communicators close it when the
// last of them is destroyed), like NCCL's bootstrap root, which is done once ranks connected.
// A server no rank of this process ever joins (a launcher hands the id to other processes)
// lives, unreferenced, as long as the process does.
import { logger } from '../log.js';
import type { RendezvousServer } from './rendezvous-server.js';

const log = logger('STORE');

interface Hosted {
  readonly server: RendezvousServer;
  joined: number;
}

const hosted = new Map<string, Hosted>();

/** Remembers that `server` serves the world named `id` here. */
export function hostRendezvous(id: string, server: RendezvousServer): void {
  hosted.set(id, { server, joined: 0 });
}

/**
 * A rank of this process joins the world named `id`: if this process hosts its server, it stays
 * up until every such rank has called the returned release (once each; later calls do nothing).
 */
export function joinHostedRendezvous(id: string): () => void {
  const entry = hosted.get(id);
  if (!entry) return () => {};
  entry.joined++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--entry.joined > 0) return;
    hosted.delete(id);
    log.info(`rendezvous server on ${entry.server.host}:${entry.server.port}: the last rank of this process that used it left; closing`);
    void entry.server.close();
  };
}
