// How a communicator finds its world from an id string. Each id scheme has a provider: the
// core registers `inproc://` (all ranks in this process); the Node and browser entries
// register `webccl://` (rendezvous + websocket) when they can, and the Node entry
// `webccl+tcp://` (rendezvous + raw tcp). The transport is decided once, by whoever makes the
// id; every rank then follows the id's scheme. Keeping the registry here lets
// lib/comm stay platform-neutral: it never imports a transport that needs Node.
import { invalidArgument, timeoutError } from '../errors.js';
import type { TransportSetting } from '../settings.js';
import { connectInproc, INPROC_SCHEME, inprocName } from './inproc.js';
import { checkTransportChoice, transportSetting, withoutTls } from './registry.js';
import type { Transport } from './transport.js';
import { withDeadline } from './deadline.js';

export interface UniqueIdOptions {
  /** Which kind of world the id names; default WEBCCL_TRANSPORT (websocket). */
  readonly transport?: TransportSetting;
  /** Provider-specific options (e.g. the rendezvous host and port for websocket). */
  readonly [option: string]: unknown;
}

export interface ConnectOptions {
  readonly timeoutMs: number;
}

export interface WorldProvider {
  /** The id prefix this provider handles, e.g. 'inproc://'. */
  readonly scheme: string;
  /** The `transport` setting whose ids this provider makes. */
  readonly transport: TransportSetting;
  createId(options: UniqueIdOptions): Promise<string>;
  connect(id: string, rank: number, size: number, options: ConnectOptions): Promise<Transport>;
  /**
   * The id of the world whose rendezvous is at host:port (torchrun's MASTER_ADDR/MASTER_PORT).
   * Rank 0 hosts that rendezvous, as rank 0 hosts torch's TCPStore under `env://`.
   */
  idFromAddress?(host: string, port: number, rank: number, size: number): Promise<string>;
  /**
   * The chunk size its transports propose at `size` ranks (Transport.chunkBytes), known before
   * any world is joined, for what prices calls without ranks (webccl-perf --explain). Absent:
   * they propose none (the configuration's default).
   */
  chunkBytes?(size: number): number;
  /**
   * Its worlds offer a collective board (Transport.board: ranks sharing one host's memory, with
   * an addon that has one), known before any world is joined, for what prices calls without
   * ranks (webccl-perf --explain). Absent: none.
   */
  readonly board?: true;
  /**
   * The mesh threshold its transports propose at `size` ranks that all share one host (as
   * webccl-perf --np launches them), known before any world is joined, for what prices calls
   * without ranks (webccl-perf --explain): the ranks price the mesh only up to the threshold
   * they agree. Absent: they propose none (0, never).
   */
  localMeshThresholdBytes?(size: number): number;
}

function randomName(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
}

const inprocProvider: WorldProvider = {
  scheme: INPROC_SCHEME,
  transport: 'inproc',
  async createId() {
    return `${INPROC_SCHEME}${randomName()}`;
  },
  async connect(id, rank, size) {
    return connectInproc(inprocName(id)!, rank, size);
  },
};

const providers: WorldProvider[] = [inprocProvider];

/** Adds (or replaces) the provider of a scheme. */
export function registerWorldProvider(provider: WorldProvider): void {
  const existing = providers.findIndex((p) => p.scheme === provider.scheme);
  if (existing >= 0) providers.splice(existing, 1, provider);
  else providers.push(provider);
}

export function providerForId(id: string): WorldProvider {
  if (typeof id !== 'string') throw invalidArgument(`communicator id must be a string, got ${typeof id}`);
  const plain = withoutTls(id);
  const provider = providers.find((p) => plain.startsWith(p.scheme));
  if (!provider) {
    throw invalidArgument(`no transport knows the id '${id.split('/').slice(0, 3).join('/')}...' (known: ${providers.map((p) => p.scheme).join(', ')})`);
  }
  return provider;
}

/** The chunk size the worlds of `transport` propose at `size` ranks (WorldProvider.chunkBytes); undefined where none is registered or proposed. */
export function proposedChunkBytes(transport: TransportSetting, size: number): number | undefined {
  return providers.find((p) => p.transport === transport)?.chunkBytes?.(size);
}

/** The mesh threshold the worlds of `transport` propose for `size` ranks on one host (WorldProvider.localMeshThresholdBytes); undefined where none is registered or proposed. */
export function proposedLocalMeshThresholdBytes(transport: TransportSetting, size: number): number | undefined {
  return providers.find((p) => p.transport === transport)?.localMeshThresholdBytes?.(size);
}

/** Whether the worlds of `transport` offer a collective board (WorldProvider.board). */
export function offersBoard(transport: TransportSetting): boolean {
  return providers.find((p) => p.transport === transport)?.board === true;
}

export function providerForTransport(transport: TransportSetting): WorldProvider {
  checkTransportChoice(`transport ${JSON.stringify(transport)}`, transport);
  const provider = providers.find((p) => p.transport === transport);
  if (!provider) throw invalidArgument(`the ${transport} transport is not available in this environment`);
  return provider;
}

/**
 * The id of a world given only the address of its rendezvous (torchrun's MASTER_ADDR and
 * MASTER_PORT), for the transport WEBCCL_TRANSPORT names: every rank reads the same environment.
 */
export function idFromAddress(host: string, port: number, rank: number, size: number): Promise<string> {
  try {
    const transport = transportSetting();
    const provider = providerForTransport(transport);
    if (!provider.idFromAddress) throw invalidArgument(`fromEnv: the ${transport} transport cannot join MASTER_ADDR:MASTER_PORT here; set WEBCCL_ID`);
    return provider.idFromAddress(host, port, rank, size);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Creates a world id on one rank, to be given to every rank (ncclGetUniqueId). */
export function getUniqueId(options: UniqueIdOptions = {}): Promise<string> {
  try {
    return providerForTransport(options.transport ?? transportSetting()).createId(options);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Joins the world an id names, as `rank` of `size`, within `timeoutMs`. */
export function connectWorld(id: string | undefined, rank: number, size: number, timeoutMs: number): Promise<Transport> {
  if (id === undefined) return Promise.reject(invalidArgument('init: pass an id (from getUniqueId) or a transport'));
  try {
    const provider = providerForId(id);
    return withDeadline(provider.connect(id, rank, size, { timeoutMs }), timeoutMs, () => timeoutError(
      `init: rank ${rank} of ${size} could not join the ${provider.scheme} world within ${timeoutMs} ms`,
    ));
  } catch (error) {
    return Promise.reject(error);
  }
}
