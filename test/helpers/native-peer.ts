// What the provider suites (native-shm, native-tcp) share: a forked peer process
// (test/workers/shm-peer.ts) driven over IPC, a connected pair (this process + the peer), the
// process's descriptor and thread counts, and the fuzz run over a provider's JS surface.
import * as assert from 'uvu/assert';
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import type { NativeAddon } from '../../lib/native/addon.js';
import { ShmContext, type NativeProvider, type ShmEndpoint } from '../../lib/native/shm.js';
import { pattern, REGION_BYTES } from '../workers/shm-peer.js';
import { rejects } from './assert.js';

export interface Peer { child: ChildProcess; ask(message: object): Promise<any> }

export async function startPeer(): Promise<Peer> {
  const child = fork('test/workers/shm-peer.ts', { execArgv: ['--import', './test/register.mjs'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies: Array<(reply: any) => void> = [];
  child.on('message', (reply: any) => replies.shift()?.(reply));
  await new Promise<void>((resolve, reject) => { replies.push(() => resolve()); child.once('exit', () => reject(new Error('peer exited'))); });
  return {
    child,
    ask(message) {
      return new Promise((resolve, reject) => {
        replies.push((reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
        child.send(message);
      });
    },
  };
}

export const newSecret = () => randomBytes(16).toString('hex');
/** Open descriptors, less /dev/null (which fork's 'ignore' stdio opens once and keeps). */
export const fdCount = () => readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) !== '/dev/null'; } catch { return false; } }).length;
export const threadCount = () => readdirSync('/proc/self/task').length;
export const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A connected pair: this process (context, 8 MiB region, endpoint) and a forked peer. */
export async function pair(addon: NativeAddon, secret: string, provider: NativeProvider = { kind: 'shm' }) {
  const peer = await startPeer();
  const context = new ShmContext(addon, secret, provider);
  const region = new Uint8Array(REGION_BYTES);
  const key = context.registerMemory(region);
  const endpoint = context.createEndpoint('0-1');
  const remote = await peer.ask({ cmd: 'start', secret, label: '1-0', provider });
  endpoint.connect(remote.address, 10_000);
  await peer.ask({ cmd: 'connect', address: endpoint.address() });
  return { peer, context, region, key, endpoint, remoteKey: remote.key as number };
}

/** A connected pair (pair's). */
export type Pair = Awaited<ReturnType<typeof pair>>;

/**
 * What every provider must carry byte for byte between the two processes of `connected`:
 * two-sided messages, a small one and one of 5 MiB (larger than shm's 4 MiB ring: fragmented);
 * one-sided writes, from the peer into our region with an immediate that consumes our receive,
 * and from us into the peer's without one; and a message too long for the posted receive, which
 * fails that receive (`kind` names the provider in its error) without overflowing it.
 */
export async function exchangeChecks(kind: NativeProvider['kind'], connected: Pair): Promise<void> {
  const { peer, region, key, endpoint, remoteKey } = connected;
  const small = endpoint.recv(key, 100, 1000);
  const large = endpoint.recv(key, 2 << 20, 5 << 20);
  assert.equal(await peer.ask({ cmd: 'send', offset: 0, length: 77, fill: 1 }), { opcode: 'send', bytes: 77 });
  assert.equal(await small, { opcode: 'recv', bytes: 77 });
  assert.is(digest(region.subarray(100, 177)), digest(pattern(77, 1)));
  await peer.ask({ cmd: 'send', offset: 0, length: 5 << 20, fill: 2 });
  assert.equal(await large, { opcode: 'recv', bytes: 5 << 20 });
  assert.is(digest(region.subarray(2 << 20, 7 << 20)), digest(pattern(5 << 20, 2)));
  const notice = endpoint.recv(key, 0, 0);
  assert.equal(await peer.ask({ cmd: 'write', offset: 4096, length: 3 << 20, rkey: key, roffset: 12345, imm: 0xdeadbeef, fill: 3 }), { opcode: 'write', bytes: 3 << 20 });
  assert.equal(await notice, { opcode: 'write-imm', bytes: 3 << 20, imm: 0xdeadbeef });
  assert.is(digest(region.subarray(12345, 12345 + (3 << 20))), digest(pattern(3 << 20, 3)));
  region.set(pattern(65536, 4), 0);
  assert.equal(await endpoint.write(key, 0, 65536, remoteKey, 999), { opcode: 'write', bytes: 65536 });
  assert.is(await peerDigestSoon(peer, 999, 65536, digest(pattern(65536, 4))), digest(pattern(65536, 4)));
  const short = rejects(endpoint.recv(key, 0, 10), new RegExp(`^SystemError: ${kind} recv: message of 11 bytes exceeds the posted receive of 10 bytes`));
  await peer.ask({ cmd: 'send', offset: 0, length: 11, fill: 5 });
  await short;
}

/**
 * The peer's digest of [offset, offset + length) once it equals `expected` (bounded: 2 s). A
 * write completes once it is in the peer's ring or socket (as a verbs write completes once
 * sent); the peer's thread applies it a moment later.
 */
export async function peerDigestSoon(peer: Peer, offset: number, length: number, expected: string): Promise<string> {
  let seen = '';
  for (let tries = 0; tries < 100 && seen !== expected; tries++) {
    if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    seen = (await peer.ask({ cmd: 'digest', offset, length })).digest;
  }
  return seen;
}

/**
 * 5000 calls with random arguments on a context and an unconnected endpoint (plus the
 * provider's `extra` calls and its `addresses`): none may crash the process, most must be
 * refused with an Error.
 */
export function fuzzProvider(context: ShmContext, endpoint: ShmEndpoint, key: number, addresses: string[],
  extra: Array<(...args: unknown[]) => unknown>): void {
  const values: unknown[] = [undefined, null, -1, 0, 1, 2.5, NaN, Infinity, 2 ** 53, 2 ** 64, key, key + 256, '', 'x', ...addresses,
    `${endpoint.address()}`, {}, [], new Uint8Array(3), new Float64Array(2), new DataView(new ArrayBuffer(4)), () => 0, Symbol('s'), 10n];
  const pick = () => values[Math.floor(Math.random() * values.length)];
  const calls: Array<(...args: unknown[]) => unknown> = [
    (a, b, c) => endpoint.send(a as number, b as number, c as number),
    (a, b, c) => endpoint.recv(a as number, b as number, c as number),
    (a, b, c, d, e, f) => endpoint.write(a as number, b as number, c as number, d as number, e as number, f as number),
    (a, b) => endpoint.connect(a as string, b as number),
    (a) => context.registerMemory(a as Uint8Array),
    (a) => context.deregisterMemory(a as number),
    (a) => context.createEndpoint(a as string),
    ...extra,
  ];
  let threw = 0;
  for (let i = 0; i < 5000; i++) {
    try {
      const result = calls[i % calls.length]!(pick(), pick(), pick(), pick(), pick(), pick());
      if (result instanceof Promise) result.catch(() => undefined);
      if (result && typeof result === 'object' && 'destroy' in result) (result as { destroy(): void }).destroy();
    } catch (error) {
      threw++;
      assert.ok(error instanceof Error, String(error));
    }
  }
  assert.ok(threw > 1000, `most random calls are refused (${threw})`);
}
