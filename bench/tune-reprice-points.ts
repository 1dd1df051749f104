// bench/tune-reprice.ts's arithmetic: a sweep's measured points priced again with the model as
// it is now (each world with the parameters its calibration gave then), and the model's pick at
// each size scored by the fixed columns measured. Pure functions of the saved sweep.
import { candidates, predictSeconds } from '../lib/tune/model.js';
import { medianOf, pointStats, type PointStats, type SweptWorld } from './tune-sweep-report.js';

export interface Run {
  readonly file: string;
  readonly points: PointStats[];
  readonly worlds: SweptWorld[];
}

/** A world's call of `bytes` as the model prices it. */
function callOf(world: SweptWorld, bytes: number) {
  return { collective: 'allReduce' as const, bytes, ranks: world.ranks, chunkBytes: world.chunkBytes, pipelineDepth: world.pipelineDepth, memory: world.memory };
}

/** `run`'s points with their predictions from the model as it is now (a point without a formula now is left out). */
export function repriced(run: Run): PointStats[] {
  return run.points.flatMap((p) => {
    const world = run.worlds.find((w) => w.transport === p.transport && w.ranks === p.ranks);
    if (!world) throw new Error(`${run.file}: no world for ${p.transport} at ${p.ranks} ranks`);
    const seconds = predictSeconds(p.ran ?? p.algorithm, callOf(world, p.bytes), world.params);
    return seconds === undefined ? [] : [pointStats({ ...p, predictedUs: seconds * 1e6 })];
  });
}

/** Each size's pick by the model now, scored by its fixed column's median against the best fixed column's. */
export function picks(run: Run): { where: string; pick: string; best: string; ratio: number }[] {
  const rows: { where: string; pick: string; best: string; ratio: number }[] = [];
  for (const world of run.worlds) {
    const mine = run.points.filter((p) => p.transport === world.transport && p.ranks === world.ranks && p.algorithm !== 'auto');
    for (const bytes of [...new Set(mine.map((p) => p.bytes))]) {
      const fixed = mine.filter((p) => p.bytes === bytes);
      const [pick] = candidates(callOf(world, bytes), world.params, { aggregator: false, call: { dtype: 'float32', op: 'sum', board: world.board } });
      const picked = fixed.find((p) => p.algorithm === pick?.algorithm);
      if (!pick || !picked) continue;
      const best = fixed.reduce((a, b) => (medianOf(b.roundsUs) < medianOf(a.roundsUs) ? b : a));
      rows.push({ where: `${world.transport} np${world.ranks} ${bytes}B`, pick: pick.algorithm, best: best.algorithm, ratio: medianOf(picked.roundsUs) / medianOf(best.roundsUs) });
    }
  }
  return rows;
}
