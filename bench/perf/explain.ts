// webccl-perf --explain: what the cost model picks for each size of the sweep and why (every
// candidate's predicted time), from the tuning file the ranks would read (WEBCCL_TUNING_FILE)
// or the defaults. It runs no ranks: the model is a pure function of its parameters.
import { readFileSync } from 'node:fs';
import { CODECS } from '../../lib/collectives/codecs.js';
import { chunkBytesSetting, meshThresholdEnv, pipelineDepthSetting, switchExponentsSetting, switchPacketValuesSetting } from '../../lib/comm/config.js';
import { switchLeafOf, switchPathHello, switchViaOf } from '../../lib/comm/switch-access.js';
import { cpuReducer } from '../../lib/cpu/cpu-reducer.js';
import { elementBytes } from '../../lib/dtype.js';
import type { Codec } from '../../lib/memory/codec.js';
import { candidates, EXTRAPOLATED_TIE } from '../../lib/tune/model.js';
import { defaultCostParams, type BetaPoint, type CostParams } from '../../lib/tune/params.js';
import { switchTermsOf } from '../../lib/tune/select.js';
import { readTuning, type TuningFile } from '../../lib/tune/tuning-file.js';
import { offersBoard, proposedChunkBytes, proposedLocalMeshThresholdBytes } from '../../lib/transport/world.js';
import type { PerfOptions } from './args.js';
import { bufferLayout } from './layout.js';
import { formatBytes, sweepSizes } from './sizes.js';
import { formatTime } from './table.js';
import { SCHEDULED } from './prediction.js';
import { reduces } from './names.js';

interface Source {
  readonly params: CostParams;
  readonly what: string;
}

/** The defaults with this process's codec loops' rates (what its ranks would agree), and why they are used. */
function defaults(why: string): Source {
  return { params: defaultCostParams(cpuReducer().codecLoops), what: `the defaults (${why})` };
}

/** The parameters --explain uses: WEBCCL_TUNING_FILE's when it fits `ranks`, else the defaults (and why). */
export async function explainSource(ranks: number, path = process.env['WEBCCL_TUNING_FILE'] ?? ''): Promise<Source> {
  if (path === '') return defaults('no WEBCCL_TUNING_FILE');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return defaults(`${path} cannot be read: ${(error as Error).message}`);
  }
  // The ranks would check the transport and device they run on; here the file's own are taken.
  let world: TuningFile['world'] | undefined;
  try {
    world = (JSON.parse(text) as Partial<TuningFile>).world;
  } catch { /* readTuning says what is wrong with it */ }
  const outcome = await readTuning(text, path, { transport: '', device: '', ...world, size: ranks });
  if ('problem' in outcome) return defaults(outcome.problem);
  return { params: outcome.tuning.params, what: `${path} (${world?.transport}, sha-256 ${outcome.tuning.digest.slice(0, 16)}…)` };
}

/**
 * The values a switch packet carries, as the ranks would agree them: WEBCCL_SWITCH_PACKET_VALUES,
 * else what this host's path to the switch fits (each rank probes its own, from WEBCCL_SWITCH_LEAF
 * where it names one, and rank 0 agrees the smallest). The switch's formula counts packets by it:
 * priced at its default 4096 values, the 256-value packets of a 1500-byte path came out 16x too
 * few, and --explain named the switch where the ranks, pricing what they agreed, ran the tree.
 */
export async function explainPacketValues(address: string): Promise<number> {
  const setting = switchPacketValuesSetting();
  if (setting !== 'auto') return setting;
  const path = await switchPathHello(address, { secret: undefined, via: switchViaOf(undefined), leaf: switchLeafOf(undefined) });
  return path.switchPacketValues!;
}

const us = (seconds: number) => formatTime(seconds * 1e6);

/** The β curve in one line ('' without one): the β host calls of each link size are priced with. */
export function betaCurveText(p: Pick<CostParams, 'betaCurve' | 'betaCurves' | 'rootedCurves'>): string {
  if (p.betaCurve.length === 0) return '';
  const points = (curve: readonly BetaPoint[]) => curve.map((point) => `${formatBytes(point.linkBytes)} ${(point.beta * 1e9).toFixed(2)}`).join(', ');
  const named = (curves: CostParams['betaCurves'], what: string) => Object.entries(curves).filter(([, curve]) => curve.length > 0).map(([name, curve]) => `; ${name}'s ${what}: ${points(curve)}`).join('');
  return `beta by link bytes: ${points(p.betaCurve)} ns/B${named(p.betaCurves, 'own')}${named(p.rootedCurves ?? {}, 'broadcast and reduce')}`;
}

/** Each schedule's fixed-part offset in one line: what an allreduce of it pays beyond call + messages·alpha + sends·o. */
export function fixedOffsetsText(p: Pick<CostParams, 'fixedOffsets' | 'rootedOffsets' | 'halfOffsets'>): string {
  const offsets = Object.entries(p.fixedOffsets ?? {});
  const rooted = Object.entries(p.rootedOffsets ?? {});
  const listed = (entries: [string, number][]) => entries.map(([name, seconds]) => `${name} ${seconds < 0 ? '-' : '+'}${us(Math.abs(seconds))}`).join(', ');
  const broadcasts = rooted.length === 0 ? '' : `; broadcasts' and reduces' own (their few-byte broadcast beyond that): ${listed(rooted)} us`;
  const halves = Object.entries(p.halfOffsets ?? {}).map(([collective, own]) => `; ${collective}'s own (its few-byte run beyond that): ${listed(Object.entries(own))} us`).join('');
  if (offsets.length === 0) return `fixed part call + messages*alpha + sends*o for every schedule (no fixedOffsets)${broadcasts}${halves}`;
  return `fixed part call + messages*alpha + sends*o, plus each schedule's own offset (its few-byte run beyond that): ${listed(offsets)} us${broadcasts}${halves}`;
}

/** `switchPacketValues`: what explainPacketValues found (with --switch); the formula's default without it. */
export function explainLines(options: PerfOptions, source: Source, switchPacketValues?: number): string[] {
  const ranks = options.np ?? 1;
  const collective = SCHEDULED[options.collective];
  if (collective === undefined) throw new Error(`--explain: the cost model has no formula for ${options.collective}`);
  const dtype = options.dtypes[0]!;
  const codecs: readonly (Codec | undefined)[] = options.tolerance === undefined || collective !== 'allReduce' || dtype !== 'float32'
    ? [undefined]
    : CODECS.filter((c) => c.identity || (c.relativeErrorBound !== undefined && c.relativeErrorBound(ranks) <= options.tolerance!));
  const p = source.params;
  const memory = options.mem === 'gpu' ? 'gpu' as const : undefined;
  // The switch priced as the ranks would run it: their exponents mode (WEBCCL_SWITCH_EXPONENTS, else 'auto') for a float dtype.
  const switchTerms = options.switch === undefined ? {} : switchTermsOf({ switchExponents: switchExponentsSetting(), ...(switchPacketValues !== undefined && { switchPacketValues }) }, dtype);
  // The mesh is priced only under the mesh threshold the ranks would agree: the variable's, else
  // what the transport proposes for ranks on one host, as webccl-perf --np launches them (ntcp: 1
  // MiB). Priced at 0 before, the mesh was never explained on ntcp, where the ranks' auto ran it.
  const meshEnv = meshThresholdEnv();
  const proposedMesh = proposedLocalMeshThresholdBytes(options.transport, ranks);
  const meshThresholdBytes = meshEnv ?? proposedMesh ?? 0;
  // The chunk and depth the ranks would agree without init options: the variables', else the
  // transport's own chunk (ntcp's grows with the ranks, shm's is 8 MiB). Priced at the default
  // 1 MiB, as before cal27, the 8-rank ntcp tree past 16 MiB was pipelined in 1 MiB pieces on
  // paper where the ranks sent its halves whole, and --explain named it where they ran the ring.
  const chunkBytes = chunkBytesSetting(proposedChunkBytes(options.transport, ranks));
  // The call as the ranks would describe it to the choice: its dtype, the sweep's first op (a
  // row may refuse some) and the transport's board, which the ranks run where it has one (shm:
  // without it every shm size was explained as a schedule of messages 1.4-31x the board's time).
  const op = options.ops[0];
  const board = offersBoard(options.transport);
  // Out of place, as the sweep's first column runs it (the model prices an allreduce's copy: params.copy).
  const call = { dtype, ...(reduces(options.collective) && op !== undefined && op !== 'mulsum' && { op }), ...(board && { board: true }), outOfPlace: true };
  const pipelineDepth = pipelineDepthSetting();
  const lines = [
    `# cost model for ${options.collective} of ${dtype} on ${ranks} ranks over ${options.transport}, chunk ${formatBytes(chunkBytes)}, pipeline depth ${pipelineDepth}: parameters from ${source.what}`,
    `#   call ${us(p.call)} us, alpha ${us(p.alpha)} us per message, beta ${(p.beta * 1e9).toFixed(3)} ns/B (${(1 / p.beta / 1e9).toFixed(2)} GB/s), gamma ${(p.gamma * 1e9).toFixed(3)} ns/B on ${p.memory} memory`,
    `#   ${betaCurveText(p) || 'beta the same at every size (no betaCurve)'}`,
    `#   ${fixedOffsetsText(p)}`,
    ...(p.slowRank === undefined ? [] : [`#   slow rank ${p.slowRank}, kept off the trees' inner nodes${p.slowLink ? `; its link ${p.slowLink.send.toFixed(2)}x the others' time out, ${p.slowLink.receive.toFixed(2)}x in: beta is the other links', the slow rank's bytes each way priced at these` : ' (its link not measured each way: beta is the slowest link\'s for every schedule)'}`]),
    ...(collective === 'allReduce' ? [`#   out of place, as the sweep's first column: ${p.copy === undefined ? 'no copy rate (priced as in place)' : `its copy of the send buffer at ${(p.copy * 1e9).toFixed(3)} ns/B (but the board's)`}`] : []),
    `#   switch ${us(p.switchPacket)} us per packet (pi), ${us(p.switchRoundTrip)} us round trip${options.switch === undefined ? ' (no --switch: not a candidate)' : `, packets of ${switchPacketValues ?? 'the formula\'s default'} values`}`,
    `#   ${p.gpu ? `GPU memory: +${us(p.gpu.call)} us a call, +${us(p.gpu.message)} us a message, +${(p.gpu.stage * 1e9).toFixed(3)} ns/B staged, gamma ${(p.gpu.gamma * 1e9).toFixed(3)} ns/B` : 'GPU memory: not calibrated (priced as host memory)'}${memory === 'gpu' ? '; this sweep is priced on GPU memory (--mem gpu)' : ''}`,
    `#   past the calibrated curves, a schedule priced within ${EXTRAPOLATED_TIE * 100}% of the cheapest that sends fewer link bytes is taken (a tie the curves cannot break)`,
    `#   mesh threshold ${formatBytes(meshThresholdBytes)} (${meshEnv !== undefined ? 'WEBCCL_MESH_THRESHOLD_BYTES' : proposedMesh !== undefined ? `${options.transport}'s proposal for ranks on one host; across hosts it may propose more` : `${options.transport} proposes none`}; the mesh is priced only up to it)`,
    `#   ${board ? `board: ${options.transport} offers one, a candidate where it serves the collective` : `board: ${options.transport} offers none`}`,
    `#   ${options.tolerance === undefined ? 'codec as configured (none)' : `codecs within tolerance ${options.tolerance}: ${codecs.map((c) => c!.name).join(', ')}`}`,
    '#',
  ];
  let header: string[] | undefined;
  for (const size of sweepSizes(options)) {
    const layout = bufferLayout(options.collective, size, dtype, ranks);
    const bytes = layout.callCount * elementBytes(dtype);
    // Per codec in the model's order: its first is the choice (past the calibrated curves a near tie may put a dearer one first).
    const perCodec = codecs.map((codec) => candidates({ collective, bytes, ranks, chunkBytes, pipelineDepth, ...switchTerms, ...(codec && { codec }), ...(memory && { memory }), outOfPlace: true }, p, { aggregator: options.switch !== undefined, meshThresholdBytes, call })
      .map((c) => ({ label: codec && !codec.identity ? `${c.algorithm}+${codec.name}` : c.algorithm, seconds: c.seconds })));
    const priced = perCodec.flat();
    if (priced.length === 0) continue;
    if (!header) {
      header = priced.map((c) => c.label).sort();
      lines.push(`#${'size'.padStart(11)}  ${'choice'.padEnd(14)}  ${'predicted'.padStart(9)}${header.map((label) => `  ${label.padStart(12)}`).join('')}`);
      lines.push(`#${'(B)'.padStart(11)}  ${''.padEnd(14)}  ${'(us)'.padStart(9)}${header.map(() => `  ${'(us)'.padStart(12)}`).join('')}`);
    }
    // As select.ts's pricedChoice: the codec whose choice is priced least.
    const best = perCodec.flatMap((ordered) => ordered.slice(0, 1)).reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const cells = header.map((label) => priced.find((c) => c.label === label)).map((c) => (c ? us(c.seconds) : 'N/A'));
    lines.push(` ${String(layout.bytes).padStart(11)}  ${best.label.padEnd(14)}  ${us(best.seconds).padStart(9)}${cells.map((cell) => `  ${cell.padStart(12)}`).join('')}`);
  }
  return lines;
}
