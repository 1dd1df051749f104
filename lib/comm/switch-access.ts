// How one rank reaches the switch: the secret it presents and the path it takes (UDP or the
// WebSocket door). Both are each rank's own, unlike the address (rank 0's, agreed): a job may
// mix UDP and WebSocket workers, so the path does not change what any rank computes.
import { readEnv } from '../settings.js';
import type { Transport } from '../transport/transport.js';

export type SwitchVia = 'udp' | 'websocket';

export interface SwitchAccess {
  readonly secret: string | undefined;
  /** undefined: the provider's default (UDP where it has it). */
  readonly via: SwitchVia | undefined;
}

/** Throws a plain Error naming a bad `switchVia` (init makes it InvalidArgument, as for every option). */
export function checkSwitchVia(via: unknown): void {
  if (via !== undefined && via !== 'udp' && via !== 'websocket') throw new Error(`switchVia '${String(via)}' is not 'udp' or 'websocket'`);
}

/**
 * The secret: the option, WEBCCL_SWITCH_SECRET, WEBCCL_SECRET, else that of the switch the
 * rendezvous server hosts. The path: the option, else WEBCCL_SWITCH_VIA.
 */
export function switchAccessOf(options: { readonly switchSecret?: string; readonly switchVia?: SwitchVia }, transport: Transport): SwitchAccess {
  const secret = options.switchSecret ?? (readEnv('WEBCCL_SWITCH_SECRET') || readEnv('WEBCCL_SECRET') || transport.hostedSwitch?.secret || undefined);
  const env = readEnv('WEBCCL_SWITCH_VIA') || undefined;
  if (options.switchVia === undefined && env !== undefined && env !== 'udp' && env !== 'websocket') {
    throw new Error(`WEBCCL_SWITCH_VIA=${env} is not 'udp' or 'websocket'`);
  }
  return { secret, via: options.switchVia ?? env as SwitchVia | undefined };
}
