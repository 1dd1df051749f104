// The one place that reads WEBCCL_* environment variables. Options passed in code override
// them. In a browser there is no environment, so every setting takes its default.
import { invalidArgument } from './errors.js';

export type LogLevel = 'NONE' | 'WARN' | 'INFO' | 'TRACE';
/**
 * A name from the algorithm registry, or 'auto'. Read here as given (lowercased) and checked
 * against the registry (lib/collectives/algorithms.ts) by the configuration that adopts it.
 */
export type AlgorithmSetting = string;
/**
 * Which transport getUniqueId's world uses: a name from the transport registry, read here as
 * given (lowercased) and checked against the registry (lib/transport/registry.ts) where it is used.
 */
export type TransportSetting = string;

/**
 * The default compression of allreduce calls: a name from the codec registry, read here as
 * given (lowercased) and checked against the registry (lib/collectives/codecs.ts) where it is used.
 */
export type CompressionSetting = string;

export interface Settings {
  readonly debug: LogLevel;
  readonly algorithm: AlgorithmSetting;
  readonly compression: CompressionSetting;
  readonly transport: TransportSetting;
  readonly timeoutMs: number;
}

const DEFAULTS: Settings = { debug: 'NONE', algorithm: 'auto', compression: 'none', transport: 'websocket', timeoutMs: 30_000 };

function environment(): Record<string, string | undefined> {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env ?? {};
}

function pick<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined || raw === '') return fallback;
  if (allowed.includes(raw as T)) return raw as T;
  throw invalidArgument(`${name}=${raw} is not one of ${allowed.join(', ')}`);
}

/** Reads the environment now (not at import), so tests and launchers can set it first. */
export function readSettings(env: Record<string, string | undefined> = environment()): Settings {
  const timeout = env['WEBCCL_TIMEOUT_MS'];
  const timeoutMs = timeout === undefined || timeout === '' ? DEFAULTS.timeoutMs : Number(timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw invalidArgument(`WEBCCL_TIMEOUT_MS=${timeout} is not a positive number of milliseconds`);
  return {
    debug: pick('WEBCCL_DEBUG', env['WEBCCL_DEBUG']?.toUpperCase(), ['NONE', 'WARN', 'INFO', 'TRACE'], DEFAULTS.debug),
    algorithm: env['WEBCCL_ALGO']?.toLowerCase() || DEFAULTS.algorithm,
    compression: env['WEBCCL_COMPRESSION']?.toLowerCase() || DEFAULTS.compression,
    transport: env['WEBCCL_TRANSPORT']?.toLowerCase() || DEFAULTS.transport,
    timeoutMs,
  };
}

/** What guards a world that was given only an address (torchrun's MASTER_ADDR/MASTER_PORT). */
export interface SecuritySettings {
  /** WEBCCL_SECRET as given (checked for form where it is used); undefined when unset or empty. */
  readonly secret: string | undefined;
  /** WEBCCL_INSECURE=1: a non-loopback job may run on a secret derived from its address. */
  readonly insecure: boolean;
}

/** Read apart from readSettings: a malformed secret must fail the launch that uses it, not every log call. */
export function readSecurity(env: Record<string, string | undefined> = environment()): SecuritySettings {
  const secret = env['WEBCCL_SECRET'];
  const insecure = readChoice('WEBCCL_INSECURE', ['0', '1'], '0', env);
  return { secret: secret === undefined || secret === '' ? undefined : secret, insecure: insecure === '1' };
}

/** A WEBCCL_* variable that names one of `allowed` (unset or empty: `fallback`); anything else is an InvalidArgument naming it. */
export function readChoice<T extends string>(name: string, allowed: readonly T[], fallback: T, env: Record<string, string | undefined> = environment()): T {
  return pick(name, env[name], allowed, fallback);
}

/**
 * A WEBCCL_* variable holding a number that `valid` accepts (unset or empty: `fallback`);
 * anything else is an InvalidArgument naming it and what it should be (`expected`).
 */
export function readNumber(name: string, fallback: number, valid: (value: number) => boolean, expected: string, env: Record<string, string | undefined> = environment()): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!valid(value)) throw invalidArgument(`${name}=${raw} is not ${expected}`);
  return value;
}

/** Any other WEBCCL_* variable, raw (for settings owned by one subsystem, e.g. WEBCCL_CHUNK_BYTES). */
export function readEnv(name: string): string | undefined {
  return environment()[name];
}

/**
 * WEBCCL_NATIVE: `0` keeps the native addon (native/) unloaded, so every path runs its pure-TS
 * fallback; `1` or unset loads it where it was built. Read apart from readSettings so that
 * loading the addon does not depend on every other variable being well formed.
 */
export function readNativeEnabled(env: Record<string, string | undefined> = environment()): boolean {
  return readChoice('WEBCCL_NATIVE', ['0', '1'], '1', env) === '1';
}
