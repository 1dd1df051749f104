// The hello every connection opens with (store, relay and mesh alike): one JSON text message
// carrying the shared secret and who is calling. The accepting side answers `welcome` or closes
// the connection with one of the codes below and a reason the caller turns into its error.
import { invalidUsage } from '../../errors.js';

// 'switch': a worker joining a switch job (lib/switch/control-protocol.ts adds its fields).
export type HelloRole = 'store' | 'relay' | 'mesh' | 'switch';

export interface Hello {
  readonly t: 'hello';
  readonly secret: string;
  readonly role: HelloRole;
  /** For relay and mesh: which world (job) and which rank of how many is calling. */
  readonly world?: string;
  readonly rank?: number;
  readonly size?: number;
  /** For mesh: the rank the caller believes it dialled. */
  readonly to?: number;
}

export const WELCOME = JSON.stringify({ t: 'welcome' });

/** WebSocket close codes (4000-4999 are for applications). */
export const CLOSE_BAD_HELLO = 4400;
export const CLOSE_WRONG_SECRET = 4401;
export const CLOSE_BAD_FRAME = 4402;
export const CLOSE_HELLO_TIMEOUT = 4408;
export const CLOSE_DUPLICATE_RANK = 4409;

/** Compares secrets in time independent of where they differ (no timing oracle). */
export function sameSecret(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a.charCodeAt(i) | 0) ^ b.charCodeAt(i);
  return difference === 0;
}

/** Parses a hello; throws a message suitable as the close reason when it is not one. */
export function parseHello(text: string): Hello {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidUsage('first message is not a JSON hello');
  }
  const hello = value as Partial<Hello> | null;
  if (hello === null || typeof hello !== 'object' || hello.t !== 'hello') throw invalidUsage('first message is not a hello');
  if (typeof hello.secret !== 'string') throw invalidUsage('hello carries no secret');
  if (hello.role !== 'store' && hello.role !== 'relay' && hello.role !== 'mesh' && hello.role !== 'switch') throw invalidUsage(`hello has unknown role '${String(hello.role)}'`);
  if (hello.role !== 'store') {
    if (typeof hello.world !== 'string') throw invalidUsage('hello names no world');
    if (!Number.isInteger(hello.size) || hello.size! < 1) throw invalidUsage(`hello has bad world size ${String(hello.size)}`);
    if (!Number.isInteger(hello.rank) || hello.rank! < 0 || hello.rank! >= hello.size!) throw invalidUsage(`hello has unknown rank ${String(hello.rank)} for size ${String(hello.size)}`);
  }
  return hello as Hello;
}

const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A message as a close reason: limited to 123 UTF-8 bytes by the protocol (ws throws past
 * that, and a reason may quote a stranger's multi-byte text), with control characters shown
 * as '?' so that a quoted value cannot forge lines in a log.
 */
export function closeReason(message: string): string {
  const encoder = new TextEncoder();
  let reason = message.replace(/[\u0000-\u001f\u007f]/g, '?');
  if (encoder.encode(reason).byteLength <= MAX_CLOSE_REASON_BYTES) return reason;
  reason = reason.slice(0, MAX_CLOSE_REASON_BYTES - 3);
  while (encoder.encode(reason).byteLength > MAX_CLOSE_REASON_BYTES - 3) reason = reason.slice(0, -1);
  return `${reason}...`;
}
