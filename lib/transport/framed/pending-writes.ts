// The writes a stream channel has handed to its socket and not yet seen completed. A socket
// that closes may never call their callbacks, so the channel rejects them all on close.
import { PendingList } from '../../pending-list.js';

/** A socket write callback: called once the bytes are written, with the error if they were not. */
export type WriteDone = (error?: Error | null) => void;

export class PendingWrites {
  /** Not a Set: see lib/pending-list.ts. */
  private readonly rejects = new PendingList<(error: Error) => void>();

  /** Runs `issue`, which hands bytes to the socket with `done` as the last write's callback. */
  start(issue: (done: WriteDone) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const pending = this.rejects.add(reject);
      const done: WriteDone = (error) => {
        this.rejects.remove(pending);
        if (error) reject(error);
        else resolve();
      };
      issue(done);
    });
  }

  /** Rejects every write still pending with `error` (the connection closed). */
  failAll(error: Error): void {
    for (const reject of this.rejects.drain()) reject(error);
  }
}
