// The shm side of a world on one host (Node only): one ShmContext per transport (named by the
// job secret's digest), one endpoint per peer whose address blob the rendezvous carries, and
// one ShmChannel per connected endpoint under a FramedTransport. How the blobs are exchanged
// and under which deadline is lib/rendezvous/worlds/shm-world.ts's business.
// The same mesh runs over the addon's native tcp provider (the `ntcp` row): only the context's
// provider differs, the channels and the framing above them are the same.
import { createHash } from 'node:crypto';
import type { NativeAddon } from '../../native/addon.js';
import { readEnv, readNumber } from '../../settings.js';
import { ShmContext, type NativeProvider, type ShmEndpoint } from '../../native/shm.js';
import { HEADER_BYTES } from '../frame.js';
import type { FramedTransport } from '../framed/framed-transport.js';
import { withLimits, type WireLimits } from '../framed/limits.js';
import { ShmChannel } from './shm-channel.js';

export const SHM_DESCRIPTION = 'shm';
export const NTCP_DESCRIPTION = 'ntcp';

/**
 * Segments of 512 KiB: a frame then fits one fragment of the provider's 4 MiB ring (fragments
 * are at most 1 MiB), several frames are in flight per peer, and a rank's staging stays small
 * (2 × 4 slots × 512 KiB per peer). Messages of any size still go through: the framed
 * transport cuts them into segments.
 */
export const SHM_SEGMENT_BYTES = 512 << 10;
/**
 * Over the tcp provider segments are 2 MiB: its frames have no ring to fit, each frame costs
 * two thread handoffs (post, completion), and on a loaded host a handoff can wait for a time
 * slice; fewer, larger frames pay that less often. Receive staging: 4 × 2 MiB per peer.
 */
export const NTCP_SEGMENT_BYTES = 2 << 20;
/**
 * The shm transport's default chunk size (Transport.chunkBytes; WEBCCL_CHUNK_BYTES or the
 * chunkBytes option override it). On host memory nothing overlaps within a rank (the read by
 * reference and the reduction both run on its event loop), so cutting a segment into chunks
 * only multiplies the per-message handoffs (descriptor, read, ack): 2 ranks on 2 busy cores
 * spent 3.6-5.8 ms of CPU per 2 MiB allreduce with 1 MiB chunks (four 256 KiB messages a half)
 * and 1.5-1.9 ms with 8 MiB (one), alternated runs. Segments above 2 MiB (a quarter of a chunk)
 * are still pipelined.
 */
export const SHM_CHUNK_BYTES = 8 << 20;
/**
 * The ntcp transport's default chunk size for `size` ranks: 4 MiB at 1 or 2 ranks, 4 MiB a rank
 * from 3 ranks on (16 MiB at 4 ranks), up to 32 MiB from 8. Each message costs a post, a
 * completion and JavaScript on the event loop, so fewer, larger ones cost less: with 1 MiB
 * chunks (the default of the others) a 4 MiB allreduce took 5.7-6.8 ms of CPU per call at 2
 * ranks and 15-16 ms at 4, with 4 MiB 3.4-4.4 and 7.0-7.5 ms (Gloo on the same host: 3.2 and
 * 7.5). Until messages of several frames landed (docs/PERFORMANCE.md, land25) the chunk was
 * held at one 2 MiB frame a rank, so that a ring message was still one frame; since, a 16 MiB
 * allreduce at 4 ranks between network namespaces runs one pipeline of 4 MiB messages instead
 * of two of 2 MiB: busbw medians 1.27-1.34x Gloo against 0.91x in the same runs (4 rotated
 * rounds; chunk25). At 64 MiB every cut from 4 pipelines of 4 MiB to one of 16 MiB ran alike.
 * At 2 ranks a larger chunk lost at 4 MiB (one 2 MiB message a half instead of two pipelined
 * 1 MiB ones) and gained nothing measurable above, so 2 ranks keep 4 MiB.
 */
export function ntcpChunkBytes(size: number): number {
  return size <= 2 ? 2 * NTCP_SEGMENT_BYTES : 2 * NTCP_SEGMENT_BYTES * Math.min(size, 8);
}
/** A native mesh's chunk size at `size` ranks: the shm provider's SHM_CHUNK_BYTES, the tcp provider's ntcpChunkBytes. */
export function meshChunkBytes(provider: 'shm' | 'tcp', size: number): number {
  return provider === 'shm' ? SHM_CHUNK_BYTES : ntcpChunkBytes(size);
}
/**
 * The ntcp transport's mesh thresholds (Transport.meshThresholdBytes): allreduces up to these
 * run the mesh (two hops) instead of the ring from 3 ranks up. Each ring step over ntcp is a
 * chain of wake-ups (the receiver's I/O thread, its completion, its event loop, the post to the
 * next rank), and a 1 MiB call at 4 ranks is six such steps of 256 KiB; the mesh makes it two,
 * with the same bytes on every link. Between hosts (4 ranks in network namespaces on veth links,
 * 2 busy cores) the mesh's busbw was above the ring's at 256 KiB-4 MiB (medians 1.2-1.9x) and
 * lost at 16 MiB (4 MiB messages, unpipelined). On one host (loopback, where a ring step is
 * cheaper) it was ahead at 1 MiB and behind at 2 and 4 MiB (docs/PERFORMANCE.md, ntcp22).
 */
export const NTCP_MESH_THRESHOLD_BYTES = 4 << 20;
export const NTCP_LOCAL_MESH_THRESHOLD_BYTES = 1 << 20;
/**
 * Between hosts from NTCP_WIDE_MESH_RANKS ranks on, the threshold is NTCP_WIDE_MESH_THRESHOLD_BYTES.
 * At 8 ranks (in network namespaces) the ring's chain is 14 steps where 4 ranks' is 6, and the
 * mesh, its segments at most 2 MiB (one frame), was ahead of the ring at 256 KiB-4 MiB (busbw
 * medians 1.0-1.5x) and at 16 MiB in 7 of 8 rounds (1.2-1.5x), level at 8 MiB; at 32 MiB
 * (4 MiB segments, which did not land then) it fell to 0.6x (docs/PERFORMANCE.md, mesh8). At 4
 * ranks, once segments of several frames landed (land25), the mesh was ahead of the ring at
 * 16 MiB (4 MiB segments) in 6 of 7 rounds (medians 1.04-1.08x Gloo against the ring's
 * 0.89-1.03x) and at 8 MiB in 5 of 7 (mesh25); 3 ranks (not measured) keep 4 MiB. On one host
 * the threshold stays 1 MiB: loopback showed no steady lead either way past it.
 */
export const NTCP_WIDE_MESH_RANKS = 4;
export const NTCP_WIDE_MESH_THRESHOLD_BYTES = 16 << 20;

/**
 * The mesh threshold an ntcp rank proposes, from its peers' endpoint addresses (`ip:port token`)
 * and its own: NTCP_LOCAL_MESH_THRESHOLD_BYTES when every peer listens on its own address (one
 * host, loopback), else NTCP_MESH_THRESHOLD_BYTES, or NTCP_WIDE_MESH_THRESHOLD_BYTES from
 * NTCP_WIDE_MESH_RANKS ranks (the peers and this rank) on.
 */
export function ntcpMeshThresholdBytes(own: string, peers: readonly string[]): number {
  const host = (address: string) => address.slice(0, address.lastIndexOf(':'));
  if (peers.every((peer) => host(peer) === host(own))) return NTCP_LOCAL_MESH_THRESHOLD_BYTES;
  return peers.length + 1 >= NTCP_WIDE_MESH_RANKS ? NTCP_WIDE_MESH_THRESHOLD_BYTES : NTCP_MESH_THRESHOLD_BYTES;
}
export const SHM_SEND_SLOTS = 4;
export const SHM_RECEIVE_SLOTS = 4;

/**
 * Segments of this many bytes or more go by reference (one copy, process_vm_readv) when the
 * peer can read this process: those larger than one ring slot. A message that fits a slot is
 * cheaper through the ring in an allreduce, copies and all: one post and one wakeup where by
 * reference takes a descriptor, a read and an ack (2 and 4 ranks at 1-2 MiB, alternated three
 * times on 2 busy cores: half the context switches, 10-25% less CPU per call than with the
 * earlier 256 KiB; native/README.md). WEBCCL_SHM_SINGLE_COPY_BYTES overrides it; `off` keeps
 * every segment on the ring.
 */
export const SHM_SINGLE_COPY_BYTES = SHM_SEGMENT_BYTES + 1;

export function shmSingleCopyBytes(): number {
  if (readEnv('WEBCCL_SHM_SINGLE_COPY_BYTES') === 'off') return Infinity;
  return readNumber('WEBCCL_SHM_SINGLE_COPY_BYTES', SHM_SINGLE_COPY_BYTES, (bytes) => Number.isInteger(bytes) && bytes >= 0, 'a byte count or off');
}

/**
 * A message of singleCopyBytes or more goes by reference in frames of up to this many bytes,
 * not cut at the ring's segment size: each frame costs a descriptor, a read and an ack (four
 * thread handoffs), so a 1 MiB ring chunk is one frame, not two. The cap bounds how long one
 * read (synchronous, on the receiver's event loop) may take: a few milliseconds.
 */
export const SHM_REFERENCE_SEGMENT_BYTES = 16 << 20;

/**
 * The limits a receiver checks frames against: the ring's (`limits`, whose maxSegmentBytes is
 * the ring frame's payload) widened for frames by reference over the shm provider.
 */
export function shmReceiveLimits(limits: WireLimits, provider: NativeProvider): WireLimits {
  if (provider.kind !== 'shm') return limits;
  return { ...limits, maxSegmentBytes: Math.max(limits.maxSegmentBytes, SHM_REFERENCE_SEGMENT_BYTES) };
}

export function shmLimits(overrides?: Partial<WireLimits>, provider: NativeProvider = { kind: 'shm' }): WireLimits {
  return withLimits({ maxSegmentBytes: provider.kind === 'tcp' ? NTCP_SEGMENT_BYTES : SHM_SEGMENT_BYTES, ...overrides });
}

/** The part of a segment's name that tells this world's endpoints from another's of the same job. */
export function worldTag(world: string, size: number): string {
  const plain = /^[A-Za-z0-9]{1,24}$/.test(world) ? world : createHash('sha256').update(world).digest('hex').slice(0, 16);
  return `${plain}-${size}`;
}

export class ShmMesh {
  private readonly context: ShmContext;
  private readonly endpoints = new Map<number, ShmEndpoint>();
  private destroyed = false;
  private readonly singleCopyBytes = shmSingleCopyBytes();
  private readonly referenceSegmentBytes: number;

  /** Creates this rank's endpoint (its inbox segment) toward every other rank. */
  constructor(addon: NativeAddon, secret: string, rank: number, size: number, world: string, private readonly limits: WireLimits,
    provider: NativeProvider = { kind: 'shm' }) {
    this.context = new ShmContext(addon, secret, provider);
    this.referenceSegmentBytes = shmReceiveLimits(limits, provider).maxSegmentBytes;
    try {
      const tag = worldTag(world, size);
      for (let peer = 0; peer < size; peer++) {
        if (peer !== rank) this.endpoints.set(peer, this.context.createEndpoint(`${tag}-${rank}-${peer}`));
      }
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  /** The address blob of the endpoint toward each peer, for the rendezvous to carry. */
  addresses(): Record<number, string> {
    return Object.fromEntries([...this.endpoints].map(([peer, endpoint]) => [peer, endpoint.address()]));
  }

  /**
   * Connects to `peer`'s endpoint toward this rank and attaches the channel to `transport`;
   * timeoutMs bounds the tcp provider's dial or accept.
   */
  connect(peer: number, address: string, transport: FramedTransport, timeoutMs?: number): void {
    const endpoint = this.endpoints.get(peer)!;
    endpoint.connect(address, timeoutMs);
    transport.attach(peer, new ShmChannel({
      context: this.context, endpoint, peer, transport, frameBytes: HEADER_BYTES + this.limits.maxSegmentBytes,
      sendSlots: SHM_SEND_SLOTS, receiveSlots: SHM_RECEIVE_SLOTS, singleCopyBytes: this.singleCopyBytes,
      referenceSegmentBytes: this.referenceSegmentBytes,
    }));
  }

  /** Stops every endpoint's thread, unmaps and unlinks what is left; idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.context.destroy();
  }
}
