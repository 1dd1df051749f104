// Before a bucket moves, every rank checks its own list (findProblem) and the ranks compare a
// digest of their lists and options with one small allGather (6 uint32 per rank). Every rank
// then knows whether any rank refused or disagrees, and all throw before any data is exchanged,
// instead of one rank failing alone while the others wait in a collective (a hang until the
// timeout) or reduce mismatched layouts into wrong weights. The communicator stays usable.
import { invalidArgument, invalidUsage, remoteError, type Communicator } from '../index.core.js';
import { describeProblem, findProblem, type Entry } from './tensors.js';

const FIELDS = 6;

export interface AgreementOptions {
  /** Whether names are part of the digest (off where ranks share one process and so one variable registry). */
  readonly checkNames: boolean;
  /** Everything else every rank must pass the same (op, bucket size, codec, root): made into the digest. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** FNV-1a over the UTF-16 code units of `text`, from a given basis (two bases give a 64-bit digest). */
function fnv1a(text: string, basis: number): number {
  let hash = basis >>> 0;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619) >>> 0;
  return hash;
}

function digestText(entries: readonly Entry[], options: AgreementOptions): string {
  const list = entries.map(({ name, tensor }) => [options.checkNames ? name : '', tensor?.shape ?? null, tensor?.dtype ?? null]);
  return JSON.stringify({ list, settings: options.settings });
}

function elementsOf(entries: readonly Entry[]): number {
  return entries.reduce((sum, { tensor }) => sum + (tensor?.size ?? 0), 0);
}

/** Runs on every rank with its own list; rejects on every rank if any rank's list is bad or differs. */
export async function agreeOnEntries(comm: Communicator, what: string, entries: readonly Entry[], options: AgreementOptions): Promise<void> {
  const problem = findProblem(entries);
  const text = digestText(entries, options);
  const mine = Uint32Array.of(problem?.code ?? 0, problem?.index ?? 0, entries.length, elementsOf(entries) >>> 0,
    fnv1a(text, 0x811c9dc5), fnv1a(text, 0x01000193));
  const all = new Uint32Array(FIELDS * comm.size);
  await comm.allGather(mine, all, FIELDS, 'uint32');
  const field = (rank: number, i: number): number => all[rank * FIELDS + i]!;
  const ranks = Array.from({ length: comm.size }, (_, r) => r);

  const refusing = ranks.filter((r) => field(r, 0) !== 0);
  if (refusing.length > 0) {
    const list = refusing.map((r) => `rank ${r}: ${describeProblem(field(r, 0), field(r, 1))}`).join('; ');
    if (problem) throw invalidArgument(`${what}: ${problem.message} (${list}); nothing was exchanged`);
    throw remoteError(`${what}: other ranks refused their tensors (${list}); nothing was exchanged`);
  }
  const differing = ranks.filter((r) => [2, 3, 4, 5].some((i) => field(r, i) !== field(0, i)));
  if (differing.length > 0) {
    const shape = (r: number): string => `rank ${r} has ${field(r, 2)} tensors of ${field(r, 3)} elements`;
    throw invalidUsage(`${what}: ranks pass different tensor lists (${options.checkNames ? 'names, ' : ''}shapes, dtypes or order) ` +
      `or options (${Object.keys(options.settings).join(', ')}): ${[0, ...differing].map(shape).join(', ')}, ` +
      `digests differ from rank 0's; this rank (${comm.rank}) has ${describeList(entries)}; nothing was exchanged`);
  }
}

/** A short listing for error messages: the first few entries with their shapes. */
function describeList(entries: readonly Entry[]): string {
  const shown = entries.slice(0, 4).map(({ name, tensor }) => `${name} [${tensor?.shape?.join(',') ?? '?'}]`);
  return `[${shown.join(', ')}${entries.length > 4 ? `, … ${entries.length - 4} more` : ''}]`;
}
