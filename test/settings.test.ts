import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSettings } from '../lib/settings.js';
import { proposeConfig } from '../lib/comm/config.js';
import { transportSetting } from '../lib/transport/registry.js';

function withEnv(name: string, value: string, body: () => void): void {
  process.env[name] = value;
  try {
    body();
  } finally {
    delete process.env[name];
  }
}
import { elementBytes, isDataType, isReduceOp, opName, premulSum } from '../lib/dtype.js';
import { WebcclError, asWebcclError, invalidArgument } from '../lib/errors.js';

test('settings: defaults without environment', () => {
  assert.equal(readSettings({}), { debug: 'NONE', algorithm: 'auto', compression: 'none', transport: 'websocket', timeoutMs: 30_000 });
});

test('settings: WEBCCL_* variables are read and normalised', () => {
  const s = readSettings({ WEBCCL_DEBUG: 'info', WEBCCL_ALGO: 'RING', WEBCCL_COMPRESSION: 'INT8', WEBCCL_TRANSPORT: 'inproc', WEBCCL_TIMEOUT_MS: '1500' });
  assert.equal(s, { debug: 'INFO', algorithm: 'ring', compression: 'int8', transport: 'inproc', timeoutMs: 1500 });
});

test('settings: WEBCCL_TRANSPORT=tcp selects the raw tcp mesh', () => {
  assert.is(readSettings({ WEBCCL_TRANSPORT: 'TCP' }).transport, 'tcp');
  withEnv('WEBCCL_TRANSPORT', 'udp', () => assert.throws(() => transportSetting(), /WEBCCL_TRANSPORT=udp is not one of inproc, websocket, tcp/));
});

test('settings: bad values name the variable', () => {
  // Algorithm and transport names are checked against their registries where they are used.
  withEnv('WEBCCL_ALGO', 'butterfly', () => assert.throws(() => proposeConfig({}), /^InvalidArgument: WEBCCL_ALGO=butterfly: algorithm "butterfly" is not one of ring, tree, direct, switch, board, mesh, auto/));
  assert.throws(() => readSettings({ WEBCCL_TIMEOUT_MS: '-3' }), /WEBCCL_TIMEOUT_MS=-3/);
  withEnv('WEBCCL_TRANSPORT', 'carrier-pigeon', () => assert.throws(() => transportSetting(), /^InvalidArgument: WEBCCL_TRANSPORT=carrier-pigeon/));
});

test('config: the mesh threshold is the option, else WEBCCL_MESH_THRESHOLD_BYTES, else the transport\'s, else absent (0)', () => {
  assert.is(proposeConfig({}).meshThresholdBytes, undefined);
  assert.is(proposeConfig({}, '', undefined, 4 << 20).meshThresholdBytes, 4 << 20);
  withEnv('WEBCCL_MESH_THRESHOLD_BYTES', '65536', () => assert.is(proposeConfig({}, '', undefined, 4 << 20).meshThresholdBytes, 65536));
  withEnv('WEBCCL_MESH_THRESHOLD_BYTES', '0', () => assert.is(proposeConfig({}, '', undefined, 4 << 20).meshThresholdBytes, undefined));
  assert.is(proposeConfig({ meshThresholdBytes: 1024 }, '', undefined, 4 << 20).meshThresholdBytes, 1024);
  withEnv('WEBCCL_MESH_THRESHOLD_BYTES', 'lots', () => assert.throws(() => proposeConfig({}), /WEBCCL_MESH_THRESHOLD_BYTES=lots is not a non-negative integer/));
  assert.throws(() => proposeConfig({ meshThresholdBytes: -1 }), /mesh threshold -1 is not a non-negative integer/);
});

test('dtype: sizes and guards', () => {
  assert.is(elementBytes('float16'), 2);
  assert.is(elementBytes('uint32'), 4);
  assert.ok(isDataType('bfloat16'));
  assert.not.ok(isDataType('float64'));
  assert.ok(isReduceOp('avg'));
  assert.ok(isReduceOp(premulSum(0.5)));
  assert.not.ok(isReduceOp({ premulSum: Number.NaN }));
  assert.is(opName(premulSum(2)), 'premulSum');
});

test('errors: codes prefix messages and wrapping keeps WebcclErrors', () => {
  const e = invalidArgument('count must be >= 0');
  assert.ok(e instanceof WebcclError);
  assert.is(e.code, 'InvalidArgument');
  assert.is(e.message, 'InvalidArgument: count must be >= 0');
  assert.is(asWebcclError(e, 'SystemError', 'x'), e);
  assert.is(asWebcclError(new Error('boom'), 'SystemError', 'connect').message, 'SystemError: connect: boom');
});

test.run();
