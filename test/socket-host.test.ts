// Where a rank listens and what it advertises (lib/rendezvous/socket-host.ts): WEBCCL_SOCKET_HOST
// and WEBCCL_SOCKET_IFNAME, set by the test (the loopback interface `lo` exists everywhere here).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { interfaceAddress, listenHost, socketHosts } from '../lib/rendezvous/socket-host.js';

function withEnv<T>(env: Record<string, string>, body: () => T): T {
  const saved = { host: process.env['WEBCCL_SOCKET_HOST'], ifname: process.env['WEBCCL_SOCKET_IFNAME'] };
  delete process.env['WEBCCL_SOCKET_HOST'];
  delete process.env['WEBCCL_SOCKET_IFNAME'];
  Object.assign(process.env, env);
  try {
    return body();
  } finally {
    for (const [name, value] of [['WEBCCL_SOCKET_HOST', saved.host], ['WEBCCL_SOCKET_IFNAME', saved.ifname]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

test('default: loopback for both', () => {
  assert.equal(withEnv({}, socketHosts), { listen: '127.0.0.1', advertise: '127.0.0.1' });
});

test('WEBCCL_SOCKET_HOST alone: listened on and advertised', () => {
  assert.equal(withEnv({ WEBCCL_SOCKET_HOST: '127.0.0.2' }, socketHosts), { listen: '127.0.0.2', advertise: '127.0.0.2' });
});

test('WEBCCL_SOCKET_IFNAME: the interface address, by prefix or exactly', () => {
  assert.is(interfaceAddress('lo'), '127.0.0.1');
  assert.is(interfaceAddress('=lo'), '127.0.0.1');
  assert.equal(withEnv({ WEBCCL_SOCKET_IFNAME: 'lo' }, socketHosts), { listen: '127.0.0.1', advertise: '127.0.0.1' });
  assert.is(withEnv({ WEBCCL_SOCKET_IFNAME: 'lo' }, listenHost), '127.0.0.1');
  assert.throws(() => interfaceAddress('=l'), /WEBCCL_SOCKET_IFNAME==l: no interface named l has an address \(interfaces here: .*\blo\b/);
  assert.throws(() => interfaceAddress('nosuchif'), /no interface whose name starts with nosuchif/);
});

test('listen everywhere, advertise the interface; a wildcard alone is an error', () => {
  assert.equal(withEnv({ WEBCCL_SOCKET_HOST: '0.0.0.0', WEBCCL_SOCKET_IFNAME: 'lo' }, socketHosts), { listen: '0.0.0.0', advertise: '127.0.0.1' });
  assert.throws(() => withEnv({ WEBCCL_SOCKET_HOST: '0.0.0.0' }, socketHosts), /WEBCCL_SOCKET_HOST=0\.0\.0\.0 listens on every interface: set WEBCCL_SOCKET_IFNAME/);
});

test.run();
