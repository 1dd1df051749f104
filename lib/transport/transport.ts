// The Transport interface: the only thing collectives know about how bytes travel.
// Like Gloo's transport::Pair, it moves framed messages between two ranks in order; unlike
// NCCL's proxies it is promise-based. Every implementation (inproc.ts; framed/FramedTransport
// under the websocket and tcp meshes and the browser relay) passes the same conformance tests
// (test/transport-conformance.ts).
import type { Landing } from '../memory/landing.js';
import type { BoardHost } from './board.js';

/** Collective kinds as carried in headers (numeric codes are the wire encoding). */
export type CollectiveKind =
  | 'allReduce' | 'broadcast' | 'reduce' | 'allGather' | 'reduceScatter' | 'allToAll'
  | 'send' | 'barrier' | 'control';

/**
 * What a collective call is, as every participating rank must agree on it. Carried in every
 * message so that a receiver can detect that the sender is running a different call.
 * `dtype`/`op` are the names from lib/dtype.ts ('none' where they do not apply);
 * `root` is -1 where there is none. `count` is the per-rank count the API was called with.
 */
export interface Signature {
  readonly kind: CollectiveKind;
  readonly count: number;
  readonly dtype: string;
  readonly op: string;
  readonly root: number;
  /**
   * The wire code of the codec an allreduce's payloads travel in (lib/collectives/codecs.ts);
   * absent or 0 for none. 0..15: it shares the op's byte in frame headers.
   */
  readonly codec?: number;
}

export interface Header {
  /** Communicator id: split communicators share their parent's transport and are told apart by this. */
  readonly comm: number;
  /** Collective sequence number on that communicator (the n-th call, counting from 0). */
  readonly seq: number;
  readonly signature: Signature;
  /** Index of this message within the call (chunk or step), for ordering checks and tracing. */
  readonly chunk: number;
}

export interface Message {
  readonly from: number;
  readonly header: Header;
  /** The payload; the receiver's until it calls release (if it never does, for good). */
  readonly payload: Uint8Array;
  /**
   * The receiver is done with the payload: the transport may reuse its memory, so nothing may
   * read it afterwards (not even a send still in flight). Optional on both sides: transports
   * that do not recycle leave it out, and receivers that keep payloads never call it.
   */
  readonly release?: () => void;
}

/** Why a transport stopped: the peer it concerns (if one) and the error every waiter gets. */
export interface TransportFailure {
  readonly peer: number | undefined;
  readonly error: Error;
}

/** A switch the rendezvous server hosts for its world (`webccl serve --switch`), as its ranks learned it. */
export interface HostedSwitch {
  /** 'host:port' (UDP) and the WebSocket door's URL, joined by a comma (a communicator's switch address). */
  readonly address: string;
  /** What the switch admits workers with: the rendezvous server's secret. */
  readonly secret: string;
}

export interface Transport {
  readonly rank: number;
  readonly size: number;
  /** A short name for logs and benchmark headers, e.g. 'inproc', 'websocket', 'websocket(relay)'. */
  readonly description: string;
  /** The switch the world's rendezvous server hosts, when it hosts one (the relay world tells its ranks). */
  readonly hostedSwitch?: HostedSwitch | undefined;
  /**
   * The pipelined chunk size this transport does best with, when neither the caller nor
   * WEBCCL_CHUNK_BYTES sets one (rank 0's proposal holds for every rank). Absent: the default.
   */
  readonly chunkBytes?: number | undefined;
  /**
   * Allreduces up to this many bytes do best on the mesh (two hops, lib/collectives/mesh-allreduce.ts)
   * rather than the ring from 3 ranks up, when neither the caller nor WEBCCL_MESH_THRESHOLD_BYTES
   * sets a threshold (rank 0's proposal holds). Absent: 0, the ring.
   */
  readonly meshThresholdBytes?: number | undefined;
  /**
   * Messages of this many bytes or more go by reference (shm's single copy: a descriptor, the
   * receiver's read, its ack), where the peers can read each other's memory; absent: none do.
   * Calibration times what such a message costs (CostParams.reference).
   */
  readonly referenceBytes?: number | undefined;
  /** Where every rank shares one host's memory (the shm world): the collective board (board.ts). */
  readonly board?: BoardHost | undefined;

  /**
   * Sends one message to `peer`. Resolves once `payload` may be reused by the caller and the
   * transport has room for more (backpressure: a slow receiver makes this wait). Rejects with a
   * WebcclError (SystemError/RemoteError) if the connection is gone.
   */
  send(peer: number, header: Header, payload: Uint8Array): Promise<void>;

  /**
   * The next message from `peer` for communicator `comm` whose sequence number is `seq`, in the
   * order the peer sent them. Messages for other (comm, seq) keys are kept until asked for.
   * Rejects when the connection to `peer` fails or the transport is closed; never times out on
   * its own (the communicator owns deadlines).
   */
  recv(peer: number, comm: number, seq: number): Promise<Message>;

  /**
   * Optional (fused receive, lib/memory/landing.ts): the message from `peer` with exactly this
   * header (signature included, so that a mismatched call never touches the memory) may be
   * applied to `landing` as it arrives, frame by frame, if it is exactly the landing's size;
   * recv then hands it out with landing.target as its payload (and no release). Returns the
   * cancel: once called, nothing lands there.
   */
  land?(peer: number, header: Header, landing: Landing): () => void;

  /**
   * Messages whose signature kind is 'control' (abort notices and other out-of-band news) are
   * not queued for recv: they go to these listeners as soon as they arrive.
   */
  onControl(listener: (message: Message) => void): void;

  /** Called once per failure (peer connection lost, garbage frame, remote abort notice). */
  onFailure(listener: (failure: TransportFailure) => void): void;

  /** Closes every connection; pending and later recv/send calls reject. Idempotent. */
  close(): Promise<void>;
}
