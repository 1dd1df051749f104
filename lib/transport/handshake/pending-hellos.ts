// How many accepted connections a listener holds before their hello. Anyone can open them and
// each costs memory (a socket, its buffers, a timer), so every listener caps them. When a new
// one arrives at a full listener the one that has waited longest is dropped, rather than the
// newcomer refused: strangers who sit on connections then cannot lock real ranks out, since a
// real hello arrives within a round trip and a stranger would have to open connections faster
// than that, without pause, to push one out.

/** Per listener; a job needs one connection per dialling rank, and they say hello at once. */
export const MAX_PENDING_HELLOS = 64;

export class PendingHellos {
  /** In arrival order, so the first is the one that has waited longest. */
  private readonly waiting = new Set<{ readonly drop: () => void }>();

  constructor(private readonly max = MAX_PENDING_HELLOS) {}

  get size(): number {
    return this.waiting.size;
  }

  /**
   * Counts a connection in until the returned function is called (its hello came, or it
   * closed). `drop` cuts the connection off at once, should it be evicted.
   */
  enter(drop: () => void): () => void {
    if (this.waiting.size >= this.max) {
      const oldest = this.waiting.values().next().value!;
      this.waiting.delete(oldest);
      oldest.drop();
    }
    const entry = { drop };
    this.waiting.add(entry);
    return () => {
      this.waiting.delete(entry);
    };
  }
}
