// The secret of a MASTER_ADDR/MASTER_PORT world: derived only where every socket is on loopback
// (or WEBCCL_INSECURE=1), otherwise WEBCCL_SECRET is required, and the refusal comes before any
// socket is opened. No test here sends a packet anywhere but loopback.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Communicator } from '../lib/index.node.js';
import { chooseAddressSecret, deriveAddressSecret, isLoopbackHost } from '../lib/rendezvous/address-secret.js';
import { readSecurity } from '../lib/settings.js';
import { rejection } from './within.js';

const NONE = { secret: undefined, insecure: false };
const ADVICE = /export WEBCCL_SECRET=\$\(openssl rand -hex 16\)/;

test('loopback spellings, and everything else is not', () => {
  for (const host of ['127.0.0.1', '127.0.0.2', '127.255.1.9', 'localhost', 'LocalHost.', 'rank0.localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::0:1', '::ffff:127.0.0.1']) {
    assert.ok(isLoopbackHost(host), host);
  }
  for (const host of ['10.1.2.3', '0.0.0.0', '::', '1::', '::2', '128.0.0.1', '127.0.0.256', '1.127.0.0.1', 'node01', 'localhost.example.com', '::ffff:10.0.0.1', '', '1:2:3:4:5:6:7:8:9']) {
    assert.not.ok(isLoopbackHost(host), host);
  }
});

test('non-loopback MASTER_ADDR without WEBCCL_SECRET: InvalidArgument with the advice', () => {
  assert.throws(() => chooseAddressSecret('10.1.2.3', 29500, undefined, NONE), (error: Error) =>
    /^InvalidArgument: MASTER_ADDR=10\.1\.2\.3 is not a loopback address and WEBCCL_SECRET is not set/.test(error.message) && ADVICE.test(error.message));
  assert.throws(() => chooseAddressSecret('node01', 29500, undefined, NONE), /MASTER_ADDR=node01/);
});

test('loopback MASTER_ADDR but a mesh listening beyond loopback also needs the secret', () => {
  assert.throws(() => chooseAddressSecret('127.0.0.1', 29500, '0.0.0.0', NONE), /WEBCCL_SOCKET_HOST=0\.0\.0\.0 is not a loopback address/);
  assert.equal(chooseAddressSecret('127.0.0.1', 29500, '127.0.0.1', NONE), { kind: 'derived', because: 'loopback' });
  assert.equal(chooseAddressSecret('localhost', 29500, undefined, NONE), { kind: 'derived', because: 'loopback' });
});

test('WEBCCL_SECRET wins anywhere; WEBCCL_INSECURE=1 opts into the derived secret', () => {
  const secret = 'ab'.repeat(16);
  assert.equal(chooseAddressSecret('10.1.2.3', 29500, '0.0.0.0', { secret, insecure: false }), { kind: 'given', secret });
  assert.equal(chooseAddressSecret('10.1.2.3', 29500, undefined, { secret: undefined, insecure: true }), { kind: 'derived', because: 'insecure' });
  assert.throws(() => chooseAddressSecret('127.0.0.1', 1, undefined, { secret: 'AB'.repeat(16), insecure: false }), /InvalidArgument: WEBCCL_SECRET must be 32 lowercase hex digits/);
});

test('settings: WEBCCL_SECRET and WEBCCL_INSECURE', () => {
  assert.equal(readSecurity({}), NONE);
  assert.equal(readSecurity({ WEBCCL_SECRET: '', WEBCCL_INSECURE: '0' }), NONE);
  assert.equal(readSecurity({ WEBCCL_SECRET: 'x', WEBCCL_INSECURE: '1' }), { secret: 'x', insecure: true });
  assert.throws(() => readSecurity({ WEBCCL_INSECURE: 'yes' }), /^InvalidArgument: WEBCCL_INSECURE=yes is not one of 0, 1/);
});

test('the derived secret is what anyone who knows the address computes', async () => {
  const a = await deriveAddressSecret('127.0.0.1', 29500, 2, '');
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.is(await deriveAddressSecret('127.0.0.1', 29500, 2, ''), a);
  assert.is.not(await deriveAddressSecret('127.0.0.1', 29500, 3, ''), a);
});

test('fromEnv as rank 0 of a 10.1.2.3 job refuses before listening (not a SystemError from bind)', async () => {
  const saved = { ...process.env };
  try {
    for (const name of ['WEBCCL_ID', 'WEBCCL_SECRET', 'WEBCCL_INSECURE', 'WEBCCL_SOCKET_HOST', 'WEBCCL_TRANSPORT']) delete process.env[name];
    Object.assign(process.env, { RANK: '0', WORLD_SIZE: '2', MASTER_ADDR: '10.1.2.3', MASTER_PORT: '29500' });
    const error = await rejection(Communicator.fromEnv(), 5000, 'fromEnv');
    assert.match(error.message, /^InvalidArgument: MASTER_ADDR=10\.1\.2\.3 is not a loopback address/);
    assert.match(error.message, ADVICE);
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
});

test.run();
