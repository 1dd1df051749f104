// Random inputs for the listener fuzz test, from a seeded PRNG so that a failing run can be
// replayed (WEBCCL_FUZZ_SEED). An input is what one stranger does on one connection: maybe an
// HTTP upgrade, maybe a hello (to reach the states after a refusal or after admission), then
// bytes: WebSocket frames that are mostly well-formed but lie in every field now and then,
// webccl frames and text records with random fields, or plain garbage, often cut short.
import { encodeFrame } from '../../lib/transport/frame.js';
import { TEXT_HEAD_BYTES, TEXT_MAGIC } from '../../lib/transport/tcp/text-record.js';
import { header } from '../transport-conformance.js';
import { upgradeRequest, wsFrame } from './raw-web-socket.js';

export type Random = () => number;

/** mulberry32: small, fast, and good enough to pick test inputs. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface FuzzInput {
  /** Perform a real HTTP upgrade first (websocket ports). */
  readonly upgrade: boolean;
  /** After the upgrade: a text hello, sent whole, whose answer (welcome or refusal) is awaited. */
  readonly hello?: Record<string, unknown> | undefined;
  /** Then these bytes, raw. */
  readonly bytes: Buffer;
}

/** What the generator may know of a target: its secret, and hellos that must not be admitted. */
export interface FuzzTarget {
  readonly kind: 'websocket' | 'tcp';
  readonly secret: string;
  readonly host: string;
  readonly port: number;
  /** The URL path websocket inputs upgrade on (default '/'). */
  readonly path?: string;
  /** Hellos for this target's own states (e.g. a relay member); undefined: strangers only. */
  readonly admittedHello?: (random: Random) => Record<string, unknown>;
  /** How often a websocket input reaches admission first (default 0.25). */
  readonly admittedShare?: number;
}

const int = (random: Random, below: number) => Math.floor(random() * below);
const pick = <T>(random: Random, choices: readonly T[]): T => choices[int(random, choices.length)]!;

function randomBytes(random: Random, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = int(random, 256);
  return bytes;
}

/** Mostly short, now and then a few KiB, rarely 64 KiB. */
function randomLength(random: Random): number {
  const r = random();
  if (r < 0.7) return int(random, 128);
  if (r < 0.97) return int(random, 4096);
  return int(random, 65536);
}

// Never the job's world or its store keys: a stranger with the secret must not take a seat of,
// or overwrite an address for, the job that runs after the fuzz.
function randomString(random: Random): string {
  return pick(random, [
    '', 'k', 'fuzz', 'webccl/fuzz/2/websocket-address/0', '\u0000', '\ud800', 'x'.repeat(int(random, 300)), randomBytes(random, 12).toString('latin1'),
    // Quoted in refusals: multi-byte and control text, and near the tcp mesh's 4 KiB record limit.
    '\u00e9'.repeat(int(random, 200)), '\u0001'.repeat(int(random, 100)), 'a'.repeat(3900 + int(random, 200)),
  ]);
}

function randomValue(random: Random): unknown {
  return pick(random, [null, true, 0, -1, 1.5, 2 ** 53, int(random, 8), randomString(random), [], {}, [randomString(random)], { t: randomString(random) }]);
}

function randomHello(random: Random, target: FuzzTarget): Record<string, unknown> {
  const hello: Record<string, unknown> = {
    t: random() < 0.9 ? 'hello' : randomValue(random),
    secret: random() < 0.5 ? target.secret : random() < 0.5 ? randomBytes(random, 16).toString('hex') : randomValue(random),
    role: pick(random, ['store', 'relay', 'mesh', 'mesh', randomValue(random)]),
    world: random() < 0.8 ? `fuzz-${int(random, 4)}` : randomValue(random),
    rank: random() < 0.8 ? int(random, 4) : randomValue(random),
    size: random() < 0.8 ? 1 + int(random, 4) : randomValue(random),
    to: random() < 0.8 ? int(random, 3) : randomValue(random),
  };
  for (const key of Object.keys(hello)) if (random() < 0.05) delete hello[key];
  return hello;
}

function randomStoreRequest(random: Random): Record<string, unknown> {
  return {
    t: pick(random, ['set', 'get', 'wait', 'add', 'explode']),
    id: random() < 0.9 ? int(random, 1000) : randomValue(random),
    key: random() < 0.8 ? `fuzz/${int(random, 16)}` : randomValue(random),
    value: random() < 0.8 ? randomBytes(random, int(random, 64)).toString('base64') : randomValue(random),
    keys: random() < 0.8 ? [`fuzz/${int(random, 16)}`] : randomValue(random),
    n: random() < 0.8 ? int(random, 10) : randomValue(random),
  };
}

/** A webccl frame (header and payload) with random fields, a byte of it flipped now and then. */
function randomWebcclFrame(random: Random): Buffer {
  const segment = randomBytes(random, int(random, 256));
  const messageBytes = segment.length + int(random, 512);
  const frame = Buffer.from(encodeFrame(header(int(random, 3), int(random, 5), int(random, 3), pick(random, ['allReduce', 'send', 'broadcast'])),
    { route: int(random, 5), messageBytes, offset: int(random, messageBytes - segment.length + 1) }, segment));
  if (random() < 0.4) frame[int(random, frame.length)] = int(random, 256);
  return frame;
}

function randomPayload(random: Random, target: FuzzTarget): Buffer {
  switch (int(random, 6)) {
    case 0: return randomBytes(random, randomLength(random));
    case 1: return Buffer.from(JSON.stringify(randomHello(random, target)));
    case 2: return Buffer.from(JSON.stringify(randomStoreRequest(random)));
    case 3: return randomWebcclFrame(random);
    case 4: return Buffer.from(randomString(random));
    default: return Buffer.alloc(0);
  }
}

/** A WebSocket frame: well-formed but for a lie or two (opcode, bits, mask, claimed length). */
function randomWsFrame(random: Random, target: FuzzTarget): Buffer {
  const payload = randomPayload(random, target);
  const opcode = random() < 0.85 ? pick(random, [1, 1, 2, 2, 0, 8, 9, 10]) : int(random, 16);
  const lie = random() < 0.15;
  const claimedLength = lie ? pick(random, [payload.length + 1 + int(random, 100), int(random, 126), 125, 126, 65535, 65536, 4 << 20, (4 << 20) + 57, 2 ** 32, 2 ** 53, 2 ** 63]) : undefined;
  return wsFrame({
    opcode, payload, claimedLength,
    fin: random() < 0.85, rsv: random() < 0.9 ? 0 : int(random, 8), mask: random() < 0.92,
  });
}

function textRecord(random: Random, body: Buffer): Buffer {
  const head = Buffer.alloc(TEXT_HEAD_BYTES);
  head.writeUInt32LE(TEXT_MAGIC, 0);
  head.writeUInt32LE(random() < 0.9 ? body.length : pick(random, [body.length + 1, 4096, 4097, 2 ** 32 - 1, int(random, 8192)]), 4);
  return Buffer.concat([head, body]);
}

/** What a tcp mesh connection carries: text records (hellos above all) and webccl frames. */
function randomTcpRecord(random: Random, target: FuzzTarget): Buffer {
  const r = random();
  if (r < 0.45) return textRecord(random, Buffer.from(JSON.stringify(randomHello(random, target))));
  if (r < 0.6) return textRecord(random, randomPayload(random, target));
  if (r < 0.85) return randomWebcclFrame(random);
  return randomBytes(random, randomLength(random));
}

/** A plausible HTTP upgrade request with a byte or a line mangled, or cut short. */
function mangledUpgrade(random: Random, target: FuzzTarget): Buffer {
  const request = Buffer.from(upgradeRequest(target.host, target.port, target.path));
  for (let flips = int(random, 4); flips > 0; flips--) request[int(random, request.length)] = int(random, 256);
  if (random() < 0.3) return Buffer.concat([request.subarray(0, int(random, request.length)), randomBytes(random, int(random, 64))]);
  return random() < 0.2 ? Buffer.concat([request, randomBytes(random, randomLength(random))]) : request;
}

function truncate(random: Random, bytes: Buffer): Buffer {
  return random() < 0.3 ? bytes.subarray(0, int(random, bytes.length + 1)) : bytes;
}

export function fuzzInput(random: Random, target: FuzzTarget): FuzzInput {
  const r = random();
  if (r < 0.12) return { upgrade: false, bytes: randomBytes(random, randomLength(random)) };
  if (target.kind === 'tcp') {
    const records = Array.from({ length: 1 + int(random, 4) }, () => randomTcpRecord(random, target));
    return { upgrade: false, bytes: truncate(random, Buffer.concat(records)) };
  }
  if (r < 0.25) return { upgrade: false, bytes: mangledUpgrade(random, target) };
  let hello: Record<string, unknown> | undefined;
  const state = random();
  const admitted = target.admittedShare ?? 0.25;
  if (state < admitted && target.admittedHello) hello = target.admittedHello(random);
  else if (state < admitted + 0.2) hello = randomHello(random, target);
  const frames = Array.from({ length: 1 + int(random, 4) }, () => randomWsFrame(random, target));
  return { upgrade: true, hello, bytes: truncate(random, Buffer.concat(frames)) };
}
