// Who may join a mesh rank's listener (websocket or tcp alike), once the hello gate has checked
// the secret: a mesh rank of the same world and size, higher than us (higher ranks dial lower
// ones), that meant to reach us, and only once.
import { CLOSE_BAD_HELLO, CLOSE_DUPLICATE_RANK, type Hello } from '../handshake/handshake.js';
import type { Refusal } from '../handshake/hello-gate.js';

export interface MeshIdentity {
  readonly rank: number;
  readonly size: number;
  readonly world: string;
  readonly secret: string;
}

export class MeshAdmission {
  private readonly admitted = new Set<number>();

  constructor(readonly identity: MeshIdentity) {}

  /** Records the caller as admitted, or says why it may not join. */
  admit(hello: Hello): Refusal | undefined {
    const { rank, size, world } = this.identity;
    if (hello.role !== 'mesh') return { code: CLOSE_BAD_HELLO, reason: `role '${hello.role}' is not served by a mesh rank` };
    if (hello.world !== world || hello.size !== size) return { code: CLOSE_BAD_HELLO, reason: `rank ${hello.rank} is in world '${hello.world}' of size ${hello.size}, not '${world}' of size ${size}` };
    if (hello.rank! <= rank || hello.to !== rank) return { code: CLOSE_BAD_HELLO, reason: `unknown rank ${hello.rank} (dialling rank ${hello.to}) for rank ${rank}` };
    if (this.admitted.has(hello.rank!)) return { code: CLOSE_DUPLICATE_RANK, reason: `rank ${hello.rank} is already connected` };
    this.admitted.add(hello.rank!);
    return undefined;
  }
}
