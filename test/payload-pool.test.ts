// The pool received payloads come from: released memory serves the next message of its size
// class, payloads stay 8-byte aligned, a release counts once, and in poisoning mode released
// memory is overwritten at once (which is what makes a use after release visible in tests).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { POISON_BYTE, PayloadPool } from '../lib/transport/framed/payload-pool.js';
import { MessageAssembler } from '../lib/transport/framed/message-assembler.js';
import type { Header } from '../lib/transport/transport.js';

const header: Header = { comm: 0, seq: 1, chunk: 0, signature: { kind: 'allReduce', count: 4, dtype: 'float32', op: 'sum', root: -1 } };

test('released memory serves the next payload of its class; payloads are aligned views of the asked length', () => {
  const pool = new PayloadPool({ retainBytes: 1 << 20, poison: false });
  const first = pool.take(1000);
  assert.is(first.bytes.byteLength, 1000);
  assert.is(first.bytes.byteOffset % 8, 0);
  first.release();
  assert.is(pool.retainedBytes, 1024);
  const second = pool.take(600);
  assert.is(second.bytes.buffer, first.bytes.buffer, 'same size class: the memory is reused');
  assert.is(second.bytes.byteLength, 600);
  assert.is(pool.retainedBytes, 0);
  assert.is.not(pool.take(600).bytes.buffer, first.bytes.buffer, 'held memory is never handed out twice');
});

test('a second release does nothing (the memory is not handed out twice)', () => {
  const pool = new PayloadPool({ retainBytes: 1 << 20, poison: false });
  const payload = pool.take(100);
  payload.release();
  payload.release();
  const a = pool.take(100);
  const b = pool.take(100);
  assert.is.not(a.bytes.buffer, b.bytes.buffer);
});

test('no more than retainBytes are kept; empty and huge payloads are not pooled', () => {
  const pool = new PayloadPool({ retainBytes: 4096, poison: false });
  const taken = [pool.take(4096), pool.take(4096)];
  for (const payload of taken) payload.release();
  assert.is(pool.retainedBytes, 4096);
  assert.is(pool.take(0).bytes.byteLength, 0);
  const huge = pool.take((16 << 20) + 1);
  huge.release();
  assert.is(pool.retainedBytes, 4096);
});

test('poisoning overwrites released memory at once', () => {
  const pool = new PayloadPool({ retainBytes: 1 << 20, poison: true });
  const payload = pool.take(64);
  payload.bytes.fill(7);
  payload.release();
  assert.ok(payload.bytes.every((byte) => byte === POISON_BYTE));
});

test('assembled messages carry a release that gives their memory back to the pool', () => {
  const pool = new PayloadPool({ retainBytes: 1 << 20, poison: true });
  const assembler = new MessageAssembler(1, pool);
  const head = { header, route: 1, messageBytes: 16, offset: 0, segmentBytes: 16 };
  assembler.reserve(head).fill(3);
  const message = assembler.commit()!;
  assert.equal([...message.payload], Array(16).fill(3));
  message.release!();
  assert.ok(message.payload.every((byte) => byte === POISON_BYTE));
  assert.is(assembler.reserve(head).buffer, message.payload.buffer);
});

test.run();
