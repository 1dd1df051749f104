// Registers the addon's SwitchML packet codec (Node only: it reaches the addon's loader) for
// switch workers' streams and CPU memory's switchml steps. udp-link.ts and the Node entry import
// it, so every Node program that can reach a switch by UDP (the benchmarks too) has it; the addon
// is loaded at the first use, not here.
import { nativeSwitchmlPackets } from '../native/switchml-codec.js';
import { loadNative } from '../native/load.js';
import { useNativeSwitchmlPackets, type SwitchmlPacketCodec } from '../cpu/switchml-packets.js';

let found: SwitchmlPacketCodec | { readonly unavailable: string } | undefined;

useNativeSwitchmlPackets(() => {
  if (found) return found;
  const loaded = loadNative();
  if ('addon' in loaded) found = nativeSwitchmlPackets(loaded.addon) ?? { unavailable: 'the addon was built before its SwitchML codec existed (rebuild it: node native/build.mjs)' };
  else found = { unavailable: loaded.unavailable };
  return found;
});
