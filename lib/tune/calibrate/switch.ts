// The switch's runs and terms: π and the round trip from two switch allreduces' remainders.
import type { CalibrationComm, Timed, HostFit } from './types.js';
import { wireBytes } from '../model.js';
import { trafficOf } from './traffic.js';

/**
 * Switch allreduces timed: 16 KiB and 1 MiB, 1 and 64 packets at 4096 values ('auto' on loopback,
 * the float path's int32 streams), 64 and 4096 at 64. Since the switch's float path quantizes into
 * its packets, 256 KiB's 15 packets more than 16 KiB's took ~0.2 ms more, within a loaded
 * machine's noise: in about 1 of 5 calibrations the larger run's remainder came out the smaller
 * (tune-calibrate-switch; switchCosts says what π is then).
 */
export const SWITCH_BYTES = [16384, 1048576] as const;

/**
 * π and the round trip from two switch runs: what each took beyond call + messages·α + sends·o +
 * bytes·β (the switch's formula's counts), with the β the model prices the switch's bytes at
 * (`linkBeta`: the pooled curve at those bytes, model.ts's betaAt; the joint fit's single β is
 * not it, and subtracting it made the larger run's remainder the smaller one in about 1 of 5
 * calibrations on loopback). When the larger run's remainder is still not the larger, its packets
 * cost nothing that the link's bytes had not already taken: the switch keeps a window of them in
 * flight behind a slow link (1 Gbit veths at a 1500-byte MTU: 10.4 ms for 1 MiB, β·bytes 9.9 ms),
 * or noise hid what they cost. π is then 0 and the round trip the two remainders' mean (the
 * least-squares fit with π held at 0): before, the default's 400 µs a packet stayed, 40x what
 * that rack's switch cost, and auto ran the ring 1.4x slower than the switch (docs/PERFORMANCE.md,
 * lead19).
 */
export function switchCosts(comm: CalibrationComm, runs: readonly Timed[], host: HostFit, linkBeta: (linkBytes: number) => number): { switchPacket: number; switchRoundTrip: number } | undefined {
  if (runs.length !== 2) return undefined;
  const [few, many] = runs.map((r) => {
    const traffic = trafficOf(comm, r.algorithm, r.bytes);
    const wire = wireBytes(traffic, comm.slowLink);
    return { packets: traffic.packets!, extra: r.seconds - host.call - traffic.messages * host.alpha - traffic.sends * host.overhead - wire * linkBeta(wire) };
  }) as [{ packets: number; extra: number }, { packets: number; extra: number }];
  if (!(many.extra > few.extra)) return { switchPacket: 0, switchRoundTrip: Math.max(0, (few.extra + many.extra) / 2) };
  const switchPacket = (many.extra - few.extra) / (many.packets - few.packets);
  return { switchPacket, switchRoundTrip: Math.max(0, few.extra - few.packets * switchPacket) };
}
