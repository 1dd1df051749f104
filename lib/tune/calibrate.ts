// Calibration: a few microbenchmarks on the actual world that give the cost model its
// parameters (params.ts). Every rank measures its own figures, then all take the largest of
// each over the ranks (a ring is as fast as its slowest link, a reduction waits for the slowest
// rank) and fit the same parameters from them, so every rank ends with the same parameters,
// which rank 0 writes to a tuning file.
//   the slow rank (3 ranks or more, not all on one host, a comm that can probe): every pair of
//      ranks exchanges a block, and a rank clearly slower with every peer is placed at a root/leaf
//      of the double binary tree before anything is timed (placement.ts; CostParams.slowRank).
//   γ: folding one chunk of float32 into another in host memory (the installed CPU reducer).
//   codecs: encoding and decoding a quarter chunk with each hop codec's host implementation.
//      Both timed by one rank at a time while its peers wait in a barrier (inTurn): on one host by rank 0 alone.
//   warm-up: before the allreduces are timed, a thousand untimed few-byte calls of every schedule
//      (or half a second of them where a thousand would take over 4.5 s, 3 s past 4 ranks:
//      warmLongestSeconds), so that a fresh process's
//      collective code is optimised (WARM_CALLS); then the board's, 20,000 or 0.3 s of them
//      (BOARD_WARM_CALLS).
//   the few-byte runs: three passes 0.15 s apart, the fastest pass kept (fewByteSamples), so that
//      one of the host's slow phases does not set call, α and o (right after the warm-up, or after
//      the larger runs where the warm-up stopped short of its calls: the code still warming, 8
//      ranks on 2 cores); then the rooted schedules' few-byte
//      broadcasts the same way, after 2048 untimed ones (or 0.3 s of them where they would take over
//      1.5 s, or past 4 ranks), each figure halfway between the fastest rank's and the slowest's
//      (rootedFewSamples), none of it in the fit.
//   call, α, o, β: allreduces with the ring and the tree at a few sizes (a few bytes, half a chunk,
//      four and sixteen chunks) and the direct exchange at a few bytes, the schedules of one size
//      in turn (the larger sizes every size in each round: largeSamples), each the fastest
//      rank's median of some repetitions; each run's traffic (the
//      formulas beside the schedules) gives one equation time − reducedBytes·γ = call +
//      messages·α + sends·o + linkBytes·β, and non-negative least squares solve them: call, α
//      and o from the few-byte runs (the direct exchange's n-1 messages at once against the
//      ring's and tree's in sequence tell α from o), β from the others (fitLatencyBandwidth). Measuring
//      the schedules themselves prices what a message costs inside a call (pipelining,
//      the communicator's own work), which a bare ping-pong would not.
//   each schedule's offset (fixedOffsetsOf): what its own few-byte run took beyond what the fit
//      prices it at (negative where one α over-prices its hops; positive where it under-prices
//      them in the median and the lower quartile both), so that its fixed part, in the
//      curve's points and in the model, is its own few-byte figure.
//   β by size (betaCurve): the ring and tree also at 64 KiB, 256 KiB and 1 MiB (mid sizes,
//      where one β was 2-5x off either way; the lower quartile of blocks of calls), and at each
//      of those and the larger sizes, what its runs took beyond call, α and o per byte on their
//      link (curveOf); and the same of each schedule's runs alone, its own curve (betaCurves),
//      the direct exchange's from its own runs at 4 and 16 KiB and the mid sizes inside its domain (directCurveBytes).
//   the rooted tree and ring (2 ranks or more, a comm that can broadcast, no board): each one's
//      few-byte broadcasts beyond what the fit prices them at, its broadcasts' and reduces' own
//      offset (rootedOffsets, fixedOffsetsOf of them); its broadcast at four chunks among the
//      larger runs, back to back, what it took beyond that fixed part per byte of its busiest link
//      one way (rootedRuns; the ring's left out where the larger runs' first calls are slow): the
//      curve its broadcasts and reduces are priced on (rootedCurves), none of it in the fit nor
//      the allreduces' curves.
//   the ring's reduce-scatter and all-gather (2-4 ranks, no board): each one's few-byte calls
//      beyond what the fit prices them at, its own offset (halfOffsets, halfFewSamples).
//   the mesh allreduce (3-4 ranks on one host, where the agreed mesh threshold lets auto run it):
//      its few-byte calls beyond what the fit prices them at, its own offset (fixedOffsets.mesh,
//      meshFewSamples), none of it in the fit; its bytes on the pooled curve.
//   the copy: every rank copying the larger runs' largest size at once (copyRate), what an
//      out-of-place allreduce pays on the schedules of messages before they reduce in place.
//   the board (where every rank's transport has one): its own fixed cost from its few-byte runs,
//      timed after the others' in a stream of its own (boardFixed, boardFewSamples), and its own
//      curve at BOARD_CURVE_BYTES beyond it; its other collectives' fixed costs the same way, after
//      a warm-up of their own (boardCollectiveSeconds, where the comm gives boardCall); none of it enters the fit of
//      call, α, o and β (it sends no message).
//   π and the switch round trip (only where a switch is configured): switch allreduces of two
//      sizes; what each took beyond call + 2α + 2o + bytes·β is round trip + packets·π, two
//      equations for two unknowns.
//   GPU memory (only where every rank has a device): γ_gpu from timing the device's fold
//      kernel at two sizes (the slope: per byte, without the submission), then untimed few-byte
//      GPU calls (the GPU path's own warm-up, as the host's), then the allreduces again on GPU
//      buffers (the few-byte ones in passes, as the host's: fewBytePass), fitted like the host
//      ones (α stays the host's: the link's latency); what the fit gives beyond the host's call,
//      o and β is the GPU call's extra per call, per message sent and per byte staged.
//
// The parts, in lib/tune/calibrate/ (each imports only those listed above it; this file re-exports
// what the rest of the library, the benches and the tests use):
//   types.ts        the communicator's and the device's interfaces, the result, Sample, Run, Timed, Measured
//   traffic.ts      a run's traffic by its formula, and the Sample a timed run makes
//   plan.ts         the runs and sizes: plannedRuns, CURVE_BYTES, BOARD_CURVE_BYTES, directCurveBytes, ringReach, rootedRuns
//   agreement.ts    a rank's figures as one vector for the maximum over ranks (flatten, unflatten), the rooted and larger runs' agreed (agreedSeconds)
//   timing.ts       timing primitives: medianSeconds, runTimes (interleaved rounds of blocks), agreedSamples
//   host-rates.ts   γ and the codecs' rates, timed one rank at a time (inTurn)
//   warm-up.ts      the untimed calls before anything is timed (untimedCalls, WARM_CALLS, warmLongestSeconds)
//   few-bytes.ts    the few-byte passes, host and GPU memory, and the rooted schedules' (fewBytePass, fewByteSamples, rootedFewSamples)
//   board-runs.ts   the board's few-byte streams (boardFewBlock, boardFewTimes, boardFewSamples, boardCollectiveSeconds)
//   mid-sizes.ts    the β curves' mid sizes (midSamples)
//   large-runs.ts   the larger runs (largeSamples)
//   copy.ts         the out-of-place copy's rate, every rank copying at once (copyRate)
//   fit.ts          call, α, o and β from the samples (fitLatencyBandwidth, lowerFit)
//   curves.ts       the β curves and the fixed parts they are priced beyond (curveOf, fixedOffsetsOf, boardFixed)
//   reference.ts    φ, a message by reference: its probe run and its cost (referenceProbe, referenceCost)
//   switch.ts       the switch's runs and π, round trip (switchCosts)
//   gpu.ts          GPU memory's runs and terms (gpuFoldRate, plannedGpuRuns, gpuCosts)
//   parameters.ts   the cost model's parameters from the figures (parametersOf)
//   procedure.ts    calibrate: every phase above in order
export type { CalibrationComm, GpuCalibration, CalibrationOptions, Calibration, Sample, Figure } from './calibrate/types.js';
export { CURVE_BYTES, BOARD_CURVE_BYTES, boardFigure, directCurveBytes } from './calibrate/plan.js';
export { type HostRates, inTurn } from './calibrate/host-rates.js';
export { BOARD_FEW_BLOCK_MOST, boardFewBlock } from './calibrate/board-runs.js';
export { fitLatencyBandwidth, lowerFit } from './calibrate/fit.js';
export { curveOf, curvesByAlgorithm, type FixedOffsets, fixedOffsetsOf, type BoardFixed, boardFixed, handedOverSeconds } from './calibrate/curves.js';
export { referenceCost } from './calibrate/reference.js';
export { calibrate } from './calibrate/procedure.js';
