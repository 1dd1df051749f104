// Which SwitchML packet codec a switch worker's streams run (lib/cpu/switchml-packets.ts): the
// addon's loops when the Node side registered them (native-stream-codec.ts) and the worker does
// not ask for TypeScript, else the TypeScript oracle. Decided once per worker, so a packet pays no
// branch for it. This file imports no Node module: browsers bundle the worker.
import { systemError } from '../errors.js';
import { nativeSwitchmlPacketsOrReason, TYPESCRIPT_SWITCHML_PACKETS, type SwitchmlPacketCodec } from '../cpu/switchml-packets.js';

export type SwitchCodecChoice = 'native' | 'typescript' | 'auto';

/** 'auto' takes native when it is there; 'native' without it fails with the reason. */
export function switchCodec(choice: SwitchCodecChoice = 'auto'): SwitchmlPacketCodec {
  if (choice === 'typescript') return TYPESCRIPT_SWITCHML_PACKETS;
  const found = nativeSwitchmlPacketsOrReason();
  if (!('unavailable' in found)) return found;
  if (choice === 'native') throw systemError(`switch worker: the native SwitchML codec is unavailable: ${found.unavailable}`);
  return TYPESCRIPT_SWITCHML_PACKETS;
}
