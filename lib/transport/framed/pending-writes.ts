// The writes a stream channel has handed to its socket and not yet seen completed. A socket
// that closes may never call their callbacks, so the channel rejects them all on close.

/** A socket write callback: called once the bytes are written, with the error if they were not. */
export type WriteDone = (error?: Error | null) => void;

export class PendingWrites {
  private readonly rejects = new Set<(error: Error) => void>();

  /** Runs `issue`, which hands bytes to the socket with `done` as the last write's callback. */
  start(issue: (done: WriteDone) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const done: WriteDone = (error) => {
        this.rejects.delete(reject);
        if (error) reject(error);
        else resolve();
      };
      this.rejects.add(reject);
      issue(done);
    });
  }

  /** Rejects every write still pending with `error` (the connection closed). */
  failAll(error: Error): void {
    for (const reject of this.rejects) reject(error);
    this.rejects.clear();
  }
}
