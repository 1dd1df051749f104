// Without the addon the ntcp row is a stub whose every call says why ("ntcp transport
// unavailable: <reason>"), so choosing ntcp is a clear error and nothing else changes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeNtcpWorld } from '../lib/rendezvous/worlds/ntcp-world.js';
import { rejects } from './helpers/assert.js';

test('ntcp without the addon: ids, addresses and connects are refused with the reason', async () => {
  const world = nodeNtcpWorld({ unavailable: 'no compiler here' });
  assert.is(world.scheme, 'webccl+ntcp://');
  await rejects(world.createId({}), /^InvalidArgument: getUniqueId: ntcp transport unavailable: no compiler here/);
  await rejects(world.connect('webccl+ntcp://127.0.0.1:1/secretsecretsecret', 0, 2, { timeoutMs: 1000 }), /^SystemError: init: ntcp transport unavailable: no compiler here/);
});

test.run();
