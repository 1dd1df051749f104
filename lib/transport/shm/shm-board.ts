// The shm world's board host (lib/transport/board.ts): one native board per communicator, its
// segment named by the job secret's digest, the world and the communicator's key. The
// transport closes every board it opened when it closes.
import type { NativeAddon } from '../../native/addon.js';
import { boardSegmentName, NativeBoardSession } from '../../native/board.js';
import { BOARD_BUFFER_BYTES, type BoardHost, type BoardSession } from '../board.js';
import type { HostBufferAllocator } from '../../memory/host-buffers.js';

export class ShmBoardHost implements BoardHost {
  private readonly sessions = new Set<BoardSession>();

  readonly hostBuffers: HostBufferAllocator | undefined;

  /** `world`: what tells this world's segments from another's of the same secret (the mesh's tag). */
  constructor(private readonly addon: NativeAddon, private readonly secret: string, private readonly world: string) {
    const { allocHostBuffer, freeHostBuffer } = addon;
    this.hostBuffers = allocHostBuffer && freeHostBuffer ? { alloc: (bytes) => allocHostBuffer(bytes), free: (buffer) => freeHostBuffer(buffer) } : undefined;
  }

  open(key: string, rank: number, size: number, timeoutMs: number): BoardSession {
    const session = new NativeBoardSession(this.addon, boardSegmentName(this.secret, `${this.world}\0${key}`), rank, size, BOARD_BUFFER_BYTES, timeoutMs);
    this.sessions.add(session);
    return {
      forCall: (stamp) => session.forCall(stamp),
      runNow: (stamp, call) => session.runNow(stamp, call),
      close: () => {
        this.sessions.delete(session);
        session.close();
      },
    };
  }

  close(): void {
    for (const session of this.sessions) session.close();
    this.sessions.clear();
  }
}
