// Requests and replies of the key-value store, as JSON text messages after the hello. Values
// are bytes, carried as base64 (rendezvous values are small: addresses, ids, counters).
import { systemError } from '../errors.js';

export type StoreRequest =
  | { readonly t: 'set'; readonly id: number; readonly key: string; readonly value: string }
  | { readonly t: 'get'; readonly id: number; readonly key: string }
  | { readonly t: 'wait'; readonly id: number; readonly keys: readonly string[] }
  | { readonly t: 'add'; readonly id: number; readonly key: string; readonly n: number };

export type StoreReply =
  | { readonly t: 'ok'; readonly id: number }
  | { readonly t: 'value'; readonly id: number; readonly value: string }
  | { readonly t: 'number'; readonly id: number; readonly value: number }
  | { readonly t: 'error'; readonly id: number; readonly message: string };

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  // Chunked so that String.fromCharCode never gets more arguments than the engine allows.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function isKey(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** Validates a request from the wire; throws a message naming what is wrong. */
export function parseStoreRequest(text: string): StoreRequest {
  let value: Partial<Record<string, unknown>>;
  try {
    value = JSON.parse(text) as Partial<Record<string, unknown>>;
  } catch {
    throw systemError('store request is not JSON');
  }
  if (value === null || typeof value !== 'object' || !Number.isInteger(value['id'])) throw systemError('store request has no id');
  const ok = (value['t'] === 'set' && isKey(value['key']) && typeof value['value'] === 'string')
    || (value['t'] === 'get' && isKey(value['key']))
    || (value['t'] === 'wait' && Array.isArray(value['keys']) && value['keys'].every(isKey))
    || (value['t'] === 'add' && isKey(value['key']) && Number.isSafeInteger(value['n']));
  if (!ok) throw systemError(`malformed store request '${String(value['t'])}'`);
  return value as unknown as StoreRequest;
}
