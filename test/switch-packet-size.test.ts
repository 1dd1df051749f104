// The size class 'auto' switch packets take (lib/switch/packet-size.ts): the largest whose
// datagram (header, values, UDP and IP headers) fits the path MTU; loopback and the WebSocket
// door the largest; an unknown MTU SwitchML's 256 values. The Node probe (path-mtu.ts) finds
// loopback for a switch on this host and gives up on a host that does not resolve; the MTU read
// from /sys is covered by test/switch-rack.test.ts (veth links at MTU 9000: 2048 values).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/switch/path-mtu.js'; // registers the Node probe
import { largestSizeClassTo, sizeClassForPath, sizeClassOfValues } from '../lib/switch/packet-size.js';
import { probeSwitchPath } from '../lib/switch/path-mtu.js';
import { packetBytes, valuesOf } from '../lib/switch/packet.js';
import { within } from './within.js';

test('sizeClassForPath: loopback and the door 7, MTU 9000 6, 1500 3, unknown 3', () => {
  assert.is(sizeClassForPath({ kind: 'loopback' }), 7);
  assert.is(sizeClassForPath({ kind: 'websocket' }), 7);
  assert.is(sizeClassForPath({ kind: 'mtu', mtu: 65536 }), 7);
  assert.is(sizeClassForPath({ kind: 'mtu', mtu: 9000 }), 6);
  assert.is(sizeClassForPath({ kind: 'mtu', mtu: 1500 }), 3);
  assert.is(sizeClassForPath({ kind: 'mtu', mtu: 1500, ipv6: true }), 3);
  assert.is(sizeClassForPath({ kind: 'unknown' }), 3);
  assert.is(valuesOf(sizeClassForPath({ kind: 'mtu', mtu: 9000 })), 2048);
});

test('sizeClassForPath: the datagram plus 8 + 20 (IPv4) or 8 + 40 (IPv6) bytes fits the MTU exactly at the edge', () => {
  for (let sizeClass = 1; sizeClass <= 7; sizeClass++) {
    const edge = packetBytes(sizeClass) + 28;
    assert.is(sizeClassForPath({ kind: 'mtu', mtu: edge }), sizeClass, `MTU ${edge}`);
    assert.is(sizeClassForPath({ kind: 'mtu', mtu: edge - 1 }), sizeClass - 1, `MTU ${edge - 1}`);
    assert.is(sizeClassForPath({ kind: 'mtu', mtu: edge, ipv6: true }), sizeClass - 1, `MTU ${edge}, IPv6`);
  }
  // Below the smallest datagram there is nothing better than the smallest class.
  assert.is(sizeClassForPath({ kind: 'mtu', mtu: 68 }), 0);
});

test('sizeClassOfValues: powers of two from 32 to 4096, else undefined', () => {
  assert.equal([32, 64, 256, 2048, 4096].map(sizeClassOfValues), [0, 1, 3, 6, 7]);
  for (const bad of [0, 16, 100, 8192, 64.5, NaN]) assert.is(sizeClassOfValues(bad), undefined, String(bad));
});

test('largestSizeClassTo: a switch on this host is loopback (7); the door 7; asked for the door 7', async () => {
  assert.equal(await within(probeSwitchPath('127.0.0.1:48864'), 5000, 'probe'), { kind: 'loopback' });
  assert.is(await largestSizeClassTo('127.0.0.1:48864', undefined), 7);
  assert.is(await largestSizeClassTo('ws://10.1.2.3:8080', undefined), 7);
  assert.is(await largestSizeClassTo('10.1.2.3:48864,ws://10.1.2.3:8080', 'websocket'), 7);
});

test('probeSwitchPath: a host that does not resolve is unknown (3), within the probe\'s time limit', async () => {
  assert.equal(await within(probeSwitchPath('no-such-switch.invalid:48864'), 5000, 'probe'), { kind: 'unknown' });
});

test.run();
