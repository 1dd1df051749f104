// The calibration itself: every phase in order (lib/tune/calibrate.ts's header describes them), then
// the agreed figures' parameters.
import { slowRankOf } from '../placement.js';
import type { SlowLink } from '../params.js';
import type { CalibrationComm, CalibrationOptions, Calibration, Sample, Timed, Measured } from './types.js';
import { FEW_BYTES, plannedRuns, CURVE_BYTES, BOARD_CURVE_BYTES, boardFigure, directCurveBytes, ringReach, rootedRuns } from './plan.js';
import { median } from '../median.js';
import { timed } from './timing.js';
import { untimedRates, hostRates, inTurn } from './host-rates.js';
import { WARM_CALLS, WARM_SECONDS, warmLongestSeconds, BOARD_WARM_CALLS, BOARD_WARM_SECONDS, untimedCalls } from './warm-up.js';
import { FEW_ALGORITHMS, fewBytePass, fewByteSamples, halfFewSamples, meshFewSamples, rootedFewSamples } from './few-bytes.js';
import { boardFewBlock, boardFewTimes, boardFewSamples, boardCollectiveSeconds } from './board-runs.js';
import { MID_UNTIMED_ROUNDS, midSamples } from './mid-sizes.js';
import { largeSamples } from './large-runs.js';
import { referenceProbe } from './reference.js';
import { copyRate } from './copy.js';
import { SWITCH_BYTES } from './switch.js';
import { GPU_WARM_SECONDS, gpuFoldRate, plannedGpuRuns } from './gpu.js';
import { agreedSeconds, flatten, unflatten } from './agreement.js';
import { parametersOf } from './parameters.js';

/** Measures this world's parameters (every rank calls it at once) and agrees on the slowest rank's. */
export async function calibrate(comm: CalibrationComm, options: CalibrationOptions = {}): Promise<Calibration> {
  const started = performance.now();
  const phases: Record<string, number> = {};
  let phaseStarted = started;
  const phaseEnds = (name: string) => {
    const now = performance.now();
    // Summed where a phase comes twice (the few-byte runs, where they go last: board's and messages').
    phases[name] = (phases[name] ?? 0) + (now - phaseStarted) / 1000;
    phaseStarted = now;
  };
  const repeats = options.repeats ?? 5;
  const chunk = comm.chunkBytes;
  // Ranks that did not time them (rank 0 of their one host did) count 0: the maximum over ranks gives rank 0's.
  const { gamma, codecs } = (await inTurn(comm, () => hostRates(chunk))) ?? untimedRates();
  phaseEnds('host rates');
  const samples: Sample[] = [];
  let boardCollectives: number[] = [];
  let board = false;
  let threshold: number | undefined;
  let slowRank: number | undefined;
  let slowLink: SlowLink | undefined;
  let copy = 0;
  if (comm.size > 1) {
    // The rank behind the slowest link first, placed before any schedule is timed: the tree's
    // runs below are then timed as it will run (lib/tune/placement.ts). Not on one host, whose
    // ranks' links are its memory: what the probe would see there is the ranks' turns on the
    // cores (8 shm ranks on 2: some rank at 2.3-2.5x the median in each pass, a different one).
    if (comm.size >= 3 && comm.linkFigures && !comm.oneHost) {
      slowRank = slowRankOf(await comm.linkFigures());
      comm.placeTree?.(slowRank);
      // Each way, how much slower: every run below is priced, and fitted, with it (termsOf).
      slowLink = slowRank === undefined ? undefined : await comm.slowLinkRatios?.(slowRank);
      if (slowLink !== undefined) comm = { ...comm, slowLink };
    }
    // The larger runs, every size in each round (largeSamples; the few-byte runs last, see fewBytePass).
    const bySize = new Map<number, { algorithms: string[] }>();
    // Not the direct exchange at the edge of its reach (directReachBytes): its whole-buffer
    // messages cost 3-4x the ring's per byte (4 inproc ranks: 21.6 ns/B against 3.7-8.7 for the
    // ring's and tree's runs), a β of its own that moved the world's 2-20x between calibrations.
    for (const [algorithm, bytes] of plannedRuns(chunk, comm.size, repeats).filter(([a, b]) => b !== FEW_BYTES && a !== 'direct')) {
      const entry = bySize.get(bytes) ?? { algorithms: [] };
      entry.algorithms.push(algorithm);
      bySize.set(bytes, entry);
    }
    // The probe only where every rank's transport sends by reference (runs of one shape on every rank), at the largest threshold.
    const [without, largest] = await comm.maxAll(Float32Array.of(comm.referenceBytes === undefined ? 1 : 0, comm.referenceBytes ?? 0));
    if (without === 0) threshold = largest!;
    const probe = threshold === undefined ? undefined : referenceProbe(comm, threshold, [...bySize.keys()]);
    board = comm.board === true;
    const { perCall, calls: warmCalls } = await untimedCalls(comm, [...FEW_ALGORITHMS, ...(board ? ['board'] : [])], WARM_CALLS, WARM_SECONDS, { longest: warmLongestSeconds(comm.size) });
    // The board's own pace (the slowest rank's, agreed) sizes its few-byte blocks.
    const boardBlock = board ? boardFewBlock((await untimedCalls(comm, ['board'], BOARD_WARM_CALLS, BOARD_WARM_SECONDS)).perCall) : 0;
    phaseEnds('warm-up');
    // The few-byte runs of the schedules of messages: rounds of blocks, repeats + 1 block figures
    // of each schedule ((LATENCY_BLOCK - 1)·(repeats + 1) timed calls: 12 by default), their lower
    // quartiles too (what the mid sizes' points, lower quartiles, are priced beyond: curveOf).
    // Then, for their own fixed parts and out of the fit, the rooted schedules' few-byte
    // broadcasts (rootedOffsets), the ring's reduce-scatters and all-gathers (halfOffsets) and the
    // mesh's allreduces where auto may run it (fixedOffsets.mesh).
    const fewRuns = async (): Promise<Sample[]> => [
      ...(await fewByteSamples(comm, repeats + 1, gamma, perCall)),
      ...(await rootedFewSamples(comm, repeats + 1, gamma)),
      ...(await halfFewSamples(comm, repeats + 1, gamma)),
      ...(await meshFewSamples(comm, repeats + 1, gamma)),
    ];
    // Next, on the warm code and before any larger run: right after the larger runs (where they
    // were until tune15) a fresh process ran them 3-4x slow for 20-30 ms (2 tcp ranks: ring
    // 363-412 µs a call in the first pass of blocks, 95-140 in the next three and in a second
    // calibration), a whole pass, so α and o doubled in some calibrations and the sweep's 8 B-8
    // KiB calls came out 2-5x over (the passes, fewBytePass, came later). But where the warm-up
    // stopped short of its WARM_CALLS, the code is far from warm: 8 ntcp ranks on 2 vCPUs run
    // some tens of calls in its 0.5 s, and their few-byte calls keep getting faster for some 8 s of a
    // process's life (the tree's 7.3 ms a call in its first half second, 2.6 at 3 s, 1.5-1.6 from
    // 8 s; 2.8 throughout with V8's compilers off, --jitless: their compiling, on cores the 8
    // ranks share, is the slow start). There the passes go last, after the larger runs, where
    // they find the code some seconds warmer: six calibrate-and-sweep pairs alternated, the fixed
    // columns' |error| median 33% with the passes first, 22.5% last (medians of the sweeps';
    // docs/PERFORMANCE.md, fewlast49). Not with a board: auto runs it for every call there, priced
    // by its own passes, and the mid sizes, then on colder code, took 8 shm ranks' calibration to
    // 8.28-11.28 s (7.55-8.46 with the passes first, three pairs; the goal is under 10).
    const fewLast = !board && warmCalls < WARM_CALLS;
    const few = fewLast ? [] : await fewRuns();
    // The board's own fixed cost (boardFixed), in a stream of its own (boardFewTimes), kept out of
    // the fit of call, α and o (ownOnly): a pass after its other collectives (not right after the
    // few-byte runs of messages) and another after the mid sizes, the faster kept (boardFewSamples).
    const boardPasses: number[][][] = [];
    if (board) {
      boardCollectives = await boardCollectiveSeconds(comm, repeats, boardBlock);
      boardPasses.push(await boardFewTimes(comm, repeats, boardBlock));
    }
    phaseEnds('few bytes');
    // Then the β curve's mid sizes, in blocks past untimed rounds, their lower quartiles (see
    // interleavedTimes, lowerQuartile), every size in each round, the rounds spread over a few time
    // slices (midSamples).
    const mid = await midSamples(comm, [
      ...CURVE_BYTES.flatMap((bytes) => ['ring', 'tree'].map((algorithm) => ({ algorithm, bytes, figure: 'lower' as const }))),
      ...directCurveBytes(comm).map((bytes) => ({ algorithm: 'direct', bytes, figure: 'lower' as const, ownOnly: true })),
    ], MID_UNTIMED_ROUNDS, gamma);
    // Only where every rank has a board (agreed at init, so the samples have one shape on every
    // rank); its sizes in rounds of their own (one untimed, as before), not among the others'.
    if (board) {
      mid.push(...(await midSamples(comm, BOARD_CURVE_BYTES.map((bytes) => ({ algorithm: 'board', bytes, figure: boardFigure(bytes), ownOnly: true })), 1, gamma)));
      boardPasses.push(await boardFewTimes(comm, repeats, boardBlock));
      few.push(...(await boardFewSamples(comm, boardPasses, gamma)).map((s) => ({ ...s, ownOnly: true })));
    }
    phaseEnds('mid sizes');
    const reach = ringReach(comm, Math.max(...bySize.keys()));
    const rooted = rootedRuns(comm);
    samples.push(...(await largeSamples(comm, [...[...bySize].sort((x, y) => x[0] - y[0]).flatMap(([bytes, { algorithms }]) => algorithms.map((algorithm) => ({ algorithm, bytes }))), ...(probe ? [probe] : []), ...(reach ? [reach] : []), ...rooted], repeats, gamma)));
    samples.splice(0, samples.length, ...(await agreedSeconds(samples, (values) => comm.maxAll(values))));
    // At the larger runs' largest size: an out-of-place call's copy costs its bytes only where
    // they are many (a 64 KiB copy is a few µs of a call of hundreds).
    copy = await copyRate(comm, Math.max(...bySize.keys()));
    phaseEnds('larger runs');
    if (fewLast) {
      few.push(...(await fewRuns())); // none before them: no board where they go last
      phaseEnds('few bytes');
    }
    samples.push(...mid);
    samples.unshift(...few);
  }
  const switchRuns: Timed[] = [];
  const switchStarted = performance.now();
  if (comm.aggregator && comm.size > 1) {
    for (const bytes of SWITCH_BYTES) {
      const data = new Float32Array(bytes / 4);
      // The fastest of at least 5: a lost datagram's retransmission (a timeout, not a per-packet
      // cost) makes runs many times slower, several in a row on a loaded host.
      switchRuns.push(await timed(() => { data.fill(0); return comm.allReduce(data, 'switch'); }, 'switch', bytes, Math.max(5, repeats), true));
    }
  }
  const switchSeconds = (performance.now() - switchStarted) / 1000;
  const gpuStarted = performance.now();
  // Only when every rank has a device (the vectors must have one shape on every rank).
  const [deviceless] = await comm.maxAll(Float32Array.of(comm.gpu ? 0 : 1));
  const gpu = deviceless === 0 ? comm.gpu : undefined;
  const gpuRuns: Timed[] = [];
  let gpuGamma: number | undefined;
  if (gpu) {
    gpuGamma = await gpuFoldRate(gpu);
    if (comm.size > 1) {
      // The GPU call's own code (staging, read-backs, the device's queue) warmed up as the host
      // calls' was (untimedCalls), for up to GPU_WARM_SECONDS.
      const gpuSchedules = [...FEW_ALGORITHMS, ...(board ? ['board'] : [])];
      const gpuFewCall = (algorithm: string) => gpu.allReduce(FEW_BYTES, algorithm);
      const { perCall: gpuPerCall } = await untimedCalls(comm, gpuSchedules, WARM_CALLS, GPU_WARM_SECONDS, { run: gpuFewCall });
      // The few-byte GPU runs in passes as the host's (fewBytePass: passes apart in time, the
      // fastest kept, blocks of calls), before any larger GPU run (plannedGpuRuns); each this
      // rank's median, the slowest rank's in the end, as every GPU run's: the fastest rank's, as
      // the host's few-byte figures are taken, priced 4 tcp ranks' GPU calls 23-36% under in
      // median (docs/PERFORMANCE.md, gpufew40).
      const fewTimes = await fewBytePass(comm, FEW_ALGORITHMS, repeats + 1, gpuPerCall, gpuFewCall);
      gpuRuns.push(...FEW_ALGORITHMS.map((algorithm, i) => ({ algorithm, bytes: FEW_BYTES, seconds: median(fewTimes[i]!) })));
      // The board's few-byte call too, for its own GPU fixed cost (gpuCosts).
      const runs = [...(board ? [['board', FEW_BYTES, 2 * repeats + 1] as const] : []), ...plannedGpuRuns(chunk, comm.size, repeats)];
      for (const [algorithm, bytes, times] of runs) gpuRuns.push(await timed(() => gpu.allReduce(bytes, algorithm), algorithm, bytes, times));
    }
    gpu.release();
  }
  const names = Object.keys(codecs).sort();
  const measured: Measured = { gamma, copy, codecs, samples, boardCollectives, switchRuns, gpuRuns, ...(gpuGamma !== undefined && { gpuGamma }) };
  // Every rank fits the same (largest) figures with the same code: the same parameters everywhere.
  const placed = slowRank === undefined ? {} : { slowRank, ...(slowLink !== undefined && { slowLink }) };
  const params = { ...parametersOf(comm, unflatten(await comm.maxAll(flatten(measured, names)), measured, names), threshold), ...placed };
  return {
    params, own: { ...parametersOf(comm, measured, threshold), ...placed }, seconds: (performance.now() - started) / 1000, phases,
    ...(switchRuns.length > 0 && { switchSeconds }), ...(gpuGamma !== undefined && { gpuSeconds: (performance.now() - gpuStarted) / 1000 }),
  };
}
