// webccl-perf: nccl-tests for webccl.
//   webccl-perf allreduce -b 8 -e 128M -f 2 --np 4            4 local ranks over WebSockets
//   webccl-perf allreduce --np 4 --transport inproc            4 ranks inside this process
//   webccl-perf allreduce --np 4 --transport tcp               4 local ranks over raw tcp
//   webccl-perf allreduce --np 4 --algo switch                 through a switch started here (or --switch host:port)
//   webccl-run -np 4 webccl-perf.js allreduce ...              one rank per process, launched outside
// Without --np and without RANK/WORLD_SIZE in the environment it runs a single rank.
import { hostname } from 'node:os';
import { launchRanks } from './launch/launch.js';
import { packageVersion } from './cli.js';
import { hostRendezvous } from './launch/rendezvous-env.js';
import { parsePerfArgs, PERF_USAGE, type PerfOptions } from '../bench/perf/args.js';
import { openRanks } from '../bench/perf/ranks.js';
import { PerfOutput } from '../bench/perf/output.js';
import { runSweep } from '../bench/perf/sweep.js';
import { gatherDevices } from '../bench/perf/devices.js';
import { totalWrong } from '../bench/perf/results.js';
import type { MeshTransport } from '../lib/rendezvous/unique-id.js';
import { transportNamed } from '../lib/transport/registry.js';
import { WebcclError } from '../lib/errors.js';
import { perfSwitch, type PerfSwitch } from '../bench/perf/switch.js';
import { calibrateTo } from '../bench/perf/calibration.js';
import { explainLines, explainPacketValues, explainSource } from '../bench/perf/explain.js';

/** --np with a transport between processes: become mpirun, start N copies of this command as ranks. */
async function launchSelf(np: number, transport: MeshTransport, switched: PerfSwitch | undefined): Promise<number> {
  const rendezvous = await hostRendezvous({ transport });
  const result = await launchRanks({
    np, command: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)], inheritRank0: true, ...rendezvous,
    ...(switched ? { env: { ...rendezvous.env, ...switched.env } } : {}),
  });
  if (result.reason !== undefined) console.error(`webccl-perf: ${result.reason}; stopped the other ranks`);
  return result.exitCode;
}

async function runRanks(options: PerfOptions, switched: PerfSwitch | undefined): Promise<number> {
  const start = { args: process.argv.slice(1), env: process.env, startTime: new Date() };
  const ranks = await openRanks(options, switched?.init);
  try {
    if (options.calibrate !== undefined) {
      const { params, seconds, phases } = await calibrateTo(ranks.communicators, options.calibrate);
      const spent = Object.entries(phases).map(([phase, s]) => `${phase} ${s.toFixed(2)}`).join(', ');
      if (ranks.comms[0]!.rank === 0) console.log(`webccl-perf: calibrated ${ranks.facts.ranks} ranks over ${ranks.facts.transport} in ${seconds.toFixed(2)} s (${spent}); wrote ${options.calibrate}: ${JSON.stringify(params)}`);
      return 0;
    }
    // Every rank names its adapter; rank 0 prints them all ("# Using devices").
    const mine = { pid: process.pid, hostname: hostname(), memory: ranks.facts.mem, device: ranks.facts.device };
    const [devices] = await Promise.all(ranks.comms.map((comm) => gatherDevices(comm, mine)));
    const output = ranks.comms[0]!.rank === 0 ? new PerfOutput(options, ranks.facts, devices!, start, packageVersion()) : undefined;
    output?.begin();
    // In-process ranks run their loops concurrently; rank 0 (if here) reports.
    const results = await Promise.all(ranks.comms.map((comm) => runSweep(comm, options, ranks.storeFactory, comm.rank === 0 ? output?.hooks() : {})));
    const rows = results[0]!;
    await output?.end(rows);
    if (output && switched && process.env['RANK'] === undefined) console.log(switched.report());
    return options.check && totalWrong(rows) > 0 ? 1 : 0;
  } finally {
    await ranks.close();
  }
}

async function main(): Promise<number> {
  let options: PerfOptions | 'help' | 'version';
  try {
    options = parsePerfArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`webccl-perf: ${(error as Error).message}`);
    return 2;
  }
  if (options === 'help' || options === 'version') {
    console.log(options === 'help' ? PERF_USAGE : packageVersion());
    return 0;
  }
  if (options.explain) {
    const packetValues = options.switch === undefined ? undefined : await explainPacketValues(options.switch);
    console.log(explainLines(options, await explainSource(options.np ?? 1), packetValues).join('\n'));
    return 0;
  }
  const isLaunchedRank = process.env['RANK'] !== undefined;
  const betweenProcesses = transportNamed(options.transport)?.rendezvous === true;
  const switched = await perfSwitch(options);
  try {
    if (options.np !== undefined && betweenProcesses && !isLaunchedRank) {
      const code = await launchSelf(options.np, options.transport, switched);
      if (switched) console.log(switched.report());
      return code;
    }
    return await runRanks(options, switched);
  } finally {
    await switched?.close();
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  // A WebcclError says what went wrong in its message (e.g. "shm transport unavailable: ...");
  // anything else is a bug, whose stack helps.
  const text = error instanceof WebcclError ? error.message : (error as Error).stack ?? String(error);
  console.error(`webccl-perf: rank ${process.env['RANK'] ?? 0}: ${text}`);
  process.exitCode = 1;
}
