// A first-order model of one allreduce call, switch against ring, for 8 to 1024 workers on
// links of one rate (default 100 Gb/s), so users can see where in-network aggregation wins.
//   ring:      2(n-1) steps, each moving S/n bytes over a link:  2(n-1)/n · S/B + 2(n-1)·α
//   switch:    every worker sends S once and receives S once (full duplex), the switch
//              aggregates at E elements/s, one level per 32 workers' bitmap (a tree of
//              switches above 32, as SwitchML's rack is limited to one job bitmap):
//              max(S·(1+h)/B, S/4/E) + levels·2α
//   software:  the same, with E from this repository's software switch (per-packet cost c,
//              V values per packet: E = V/(n·c), since every worker's packet costs c).
//   software tree: leaf switches of at most 32 workers each under a root (webccl switch
//              --parent), every switch on its own cores: the busiest is a full leaf, which
//              receives its 32 workers' packets and the root's result per slot, so
//              E = V/(min(n, 32)·c) up to 32 workers and V/(33·c) above (the root, with n/32
//              leaves, receives fewer up to 1024 workers).
// h is the header overhead of a SwitchML packet (Ethernet+IP+UDP+SwitchML header over 256
// int32 values); α the one-hop latency. E for the Tofino is SwitchML's published 2.8 G
// elements/s (NSDI'21, 4-16 workers at 100 Gb/s).
// usage: node --import ./test/register.mjs bench/switch-model.ts [--bytes 104857600] [--gbps 100]
//        [--alpha-us 2] [--packet-us C] [--values 256] [--svg docs/switch-model.svg]
//   --packet-us: the software switch's cost per received packet, from bench/switch-rate.ts
//   (n workers at R elements/s receive n·R/V packets/s: c = V/(n·R)); default 30 µs, from its
//   3.8 M elements/s at 2 workers with 256-value packets (README), ~ the rack's 2-rank run.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    bytes: { type: 'string', default: String(100 * 2 ** 20) }, gbps: { type: 'string', default: '100' },
    'alpha-us': { type: 'string', default: '2' }, 'packet-us': { type: 'string', default: '30' },
    values: { type: 'string', default: '256' }, svg: { type: 'string' },
  },
});
const S = Number(flags.bytes);
const B = Number(flags.gbps) * 1e9 / 8;
const alpha = Number(flags['alpha-us']) * 1e-6;
const packetCost = Number(flags['packet-us']) * 1e-6;
const V = Number(flags.values);
const TOFINO_ELEMENTS_PER_S = 2.8e9;
const HEADER = 14 + 20 + 8 + 12 + 4; // Ethernet, IPv4, UDP, SwitchML header, FCS
const h = HEADER / (4 * V);
const BITMAP = 32;

/** Packets the busiest switch of a tree of software switches receives per slot. */
const treeFanIn = (n: number) => (n <= BITMAP ? n : BITMAP + 1);
const levels = (n: number) => Math.max(1, Math.ceil(Math.log(n) / Math.log(BITMAP)));
const ring = (n: number) => (2 * (n - 1) / n) * S / B + 2 * (n - 1) * alpha;
const switched = (n: number, elementsPerS: number) => Math.max(S * (1 + h) / B, S / 4 / elementsPerS) + levels(n) * 2 * alpha;

const workers = [8, 16, 32, 64, 128, 256, 512, 1024];
const rows = workers.map((n) => ({ n, ring: ring(n), tofino: switched(n, TOFINO_ELEMENTS_PER_S), software: switched(n, V / (n * packetCost)), tree: switched(n, V / (treeFanIn(n) * packetCost)) }));

const ms = (t: number) => (t * 1e3).toFixed(t < 0.01 ? 3 : 2);
console.log(`# allreduce of ${(S / 2 ** 20).toFixed(0)} MiB float32 per call, ${flags.gbps} Gb/s links, α ${flags['alpha-us']} µs per hop, ${V} values per packet (header overhead ${(h * 100).toFixed(1)}%)`);
console.log(`# Tofino switch: ${TOFINO_ELEMENTS_PER_S / 1e9} G elements/s (SwitchML); software switch: ${flags['packet-us']} µs per packet`);
console.log('# workers   ring (ms)  switch/Tofino (ms)  ring/Tofino  switch/software (ms)  ring/software  software tree (ms)  ring/tree');
for (const r of rows) {
  console.log(`${String(r.n).padStart(9)} ${ms(r.ring).padStart(11)} ${ms(r.tofino).padStart(19)} ${(r.ring / r.tofino).toFixed(2).padStart(12)} ${ms(r.software).padStart(21)} ${(r.ring / r.software).toPrecision(2).padStart(14)}` +
    ` ${ms(r.tree).padStart(18)} ${(r.ring / r.tree).toPrecision(2).padStart(10)}`);
}

if (flags.svg) writeFileSync(flags.svg, svg());

/** A log-log plot of time per call against workers, one line per model. */
function svg(): string {
  const W = 640, H = 400, L = 70, R = 20, T = 30, Bm = 50;
  const all = rows.flatMap((r) => [r.ring, r.tofino, r.software, r.tree]);
  const [lo, hi] = [Math.log10(Math.min(...all)) - 0.1, Math.log10(Math.max(...all)) + 0.1];
  const x = (n: number) => L + (Math.log2(n) - 3) / 7 * (W - L - R);
  const y = (t: number) => T + (hi - Math.log10(t)) / (hi - lo) * (H - T - Bm);
  const line = (key: 'ring' | 'tofino' | 'software' | 'tree', color: string, label: string, i: number) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${rows.map((r) => `${x(r.n).toFixed(1)},${y(r[key]).toFixed(1)}`).join(' ')}"/>` +
    `<text x="${L + 10}" y="${T + 15 + 16 * i}" fill="${color}" font-size="13">${label}</text>`;
  const ticksY: string[] = [];
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
    ticksY.push(`<line x1="${L}" x2="${W - R}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#ddd"/><text x="${L - 6}" y="${y(10 ** e) + 4}" text-anchor="end" font-size="12">${ms(10 ** e)}</text>`);
  }
  const ticksX = workers.map((n) => `<text x="${x(n)}" y="${H - Bm + 18}" text-anchor="middle" font-size="12">${n}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
${ticksY.join('\n')}
${ticksX.join('\n')}
<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle" font-size="13">workers</text>
<text x="16" y="${(T + H - Bm) / 2}" transform="rotate(-90 16 ${(T + H - Bm) / 2})" text-anchor="middle" font-size="13">ms per ${(S / 2 ** 20).toFixed(0)} MiB allreduce (log)</text>
${line('ring', '#1f77b4', 'ring', 0)}
${line('tofino', '#d62728', 'switch (Tofino, 2.8 G elements/s)', 1)}
${line('software', '#2ca02c', `switch (software, ${flags['packet-us']} µs/packet)`, 2)}
${line('tree', '#9467bd', 'switch (software, leaves of 32 under a root)', 3)}
</svg>
`;
}
