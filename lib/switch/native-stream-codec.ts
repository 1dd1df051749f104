// Registers the addon's SwitchML packet codec for switch workers (Node only: it reaches the
// addon's loader). udp-link.ts imports it, so every Node program that can reach a switch by UDP
// (the Node entry, the benchmarks) has it; the addon is loaded at the first worker, not here.
import { nativeSwitchmlPackets } from '../native/switchml-codec.js';
import { loadNative } from '../native/load.js';
import type { SwitchmlPacketCodec } from '../cpu/switchml-packets.js';
import { registerNativeSwitchCodec } from './stream-codec.js';

let found: SwitchmlPacketCodec | { readonly unavailable: string } | undefined;

registerNativeSwitchCodec(() => {
  if (found) return found;
  const loaded = loadNative();
  if ('addon' in loaded) found = nativeSwitchmlPackets(loaded.addon) ?? { unavailable: 'the addon was built before its SwitchML codec existed (rebuild it: node native/build.mjs)' };
  else found = { unavailable: loaded.unavailable };
  return found;
});
