// The secret of a world that was given only an address (torchrun's MASTER_ADDR/MASTER_PORT).
// Every rank must arrive at the same secret without talking first, so it is either handed to
// all of them (WEBCCL_SECRET, which webccl-run sets and torchrun users can export) or derived
// from what they all know. A derived secret only guards against strays (another job on the
// same port), not against an attacker who can read the job's environment: the same trust
// torch's TCPStore gives, and it is logged as such.
import { invalidArgument } from '../errors.js';
import { logger } from '../log.js';
import { readEnv } from '../settings.js';

const SECRET_PATTERN = /^[0-9a-f]{32}$/;

export async function secretForAddress(host: string, port: number, size: number): Promise<string> {
  const given = readEnv('WEBCCL_SECRET');
  if (given !== undefined && given !== '') {
    if (!SECRET_PATTERN.test(given)) throw invalidArgument('WEBCCL_SECRET must be 32 lowercase hex digits');
    return given;
  }
  logger('INIT').warn(`no WEBCCL_SECRET: the rendezvous at ${host}:${port} uses a secret derived from the job's address (unauthenticated, like torch's TCPStore)`);
  const job = `webccl|${host}|${port}|${size}|${readEnv('TORCHELASTIC_RUN_ID') ?? ''}`;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(job)));
  return Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}
