// What a long-lived owner keeps pending (a communicator's waits, a channel's writes): added
// and removed on every call, walked only to fail them all. A doubly linked list, not a Set.
//
// A long-lived Set or Map that every call adds to and deletes from rehashes into a new table
// every few calls, and V8 leaves each replaced table pointing at its successor and at the
// entries it held (for iterators still walking it). Once one replaced table is in the old
// generation it stays there, dead, until the next full collection, and the old generation's
// pointers into the young one are roots for a scavenge: its successor survives, with the
// entries it holds and whatever they reach (reject functions, promises, a call's objects); the
// next scavenge promotes them, and so on from table to table. A communicator's Set of waits did
// this: 4 ntcp ranks' 8-byte allreduce promoted 0.46-0.8 MB a scavenge, 4-7 KB with this list,
// and the scavenges' pauses (3-8 ms, each stalling the peers) went with it (docs/PERFORMANCE.md,
// nepotism47). An entry leaves the list with its links cleared, so a dead one holds nothing.

/** One pending item: its handle for `remove`. */
export class PendingEntry<T> {
  /** @internal */ older: PendingEntry<T> | undefined;
  /** @internal */ newer: PendingEntry<T> | undefined = undefined;
  /** @internal */ list: PendingList<T> | undefined;

  constructor(readonly item: T, list: PendingList<T>, older: PendingEntry<T> | undefined) {
    this.list = list;
    this.older = older;
  }
}

export class PendingList<T> {
  private oldest: PendingEntry<T> | undefined;
  private newest: PendingEntry<T> | undefined;

  /** Adds `item` as the newest. */
  add(item: T): PendingEntry<T> {
    const entry = new PendingEntry(item, this, this.newest);
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
    return entry;
  }

  /** Takes `entry` out; false when it is not in this list (removed already, or another list's). */
  remove(entry: PendingEntry<T> | undefined): boolean {
    if (entry === undefined || entry.list !== this) return false;
    const { older, newer } = entry;
    if (older) older.newer = newer;
    else this.oldest = newer;
    if (newer) newer.older = older;
    else this.newest = older;
    entry.older = entry.newer = entry.list = undefined;
    return true;
  }

  /** The oldest item still pending. */
  get first(): T | undefined {
    return this.oldest?.item;
  }

  get empty(): boolean {
    return this.oldest === undefined;
  }

  /** Removes every item and returns them, oldest first. */
  drain(): T[] {
    const items: T[] = [];
    while (this.oldest) {
      items.push(this.oldest.item);
      this.remove(this.oldest);
    }
    return items;
  }
}
