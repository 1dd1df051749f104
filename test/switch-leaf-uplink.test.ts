// A leaf's uplink alone, on a fake link to the root: a copy that completes at the leaf with
// exponents only (packet.ts) goes up as it is to a root whose welcome offers them, and as a
// full packet of zeros (the flag cleared) to one that does not, as SwitchML's hardware would
// need; the root's answer comes down with the leaf's job number and slot.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Welcome } from '../lib/switch/control-protocol.js';
import { FaultInjector } from '../lib/switch/faults.js';
import { LeafUplink } from '../lib/switch/leaf-uplink.js';
import { decodePacket, encodePacket, MSG_RESULT, MSG_UPDATE, packetBytes } from '../lib/switch/packet.js';
import type { LinkEvents } from '../lib/switch/switch-link.js';

const SIZE_CLASS = 2;
const leafJob = { number: 4, slotBase: 10, window: 8 };

function uplink(rootOffers: boolean) {
  const sent: Uint8Array[] = [];
  const down: Uint8Array[] = [];
  let events: LinkEvents | undefined;
  const welcome: Welcome = {
    t: 'welcome', job: 9, worker: 1, workers: 8, slotBase: 200, window: 8, sizeClass: SIZE_CLASS, udpPort: 1, ...(rootOffers ? { exponentsOnly: true } : {}),
  };
  const link = new LeafUplink(
    { welcome, attach: (e) => { events = e; return { send: (bytes) => sent.push(bytes.slice()), close: () => {} }; } },
    'root', { job: leafJob, multicast: (bytes) => down.push(bytes), fail: (reason) => { throw new Error(reason); }, faults: new FaultInjector() },
    { retransmitMs: 60_000, timeoutMs: 60_000 },
  );
  return { link, sent, down, answer: (bytes: Uint8Array) => events!.packet(bytes) };
}

/** The leaf plane's multicast of a copy that only exponents-only packets reached. */
const completed = encodePacket({ type: MSG_RESULT, sizeClass: SIZE_CLASS, job: leafJob.number, packetId: 77, slot: leafJob.slotBase + 3, copy: 1, e0: 5, e1: -9, exponentsOnly: true });

for (const rootOffers of [true, false]) {
  test(`an exponents-only copy goes up ${rootOffers ? 'as it is (the root offers them)' : 'as full zeros (the root does not offer them)'}, and the root's answer comes down`, () => {
    const { link, sent, down, answer } = uplink(rootOffers);
    try {
      assert.equal(link.route({ kind: 'multicast', bytes: completed }), { kind: 'absorbed' });
      assert.is(sent.length, 1);
      const up = decodePacket(sent[0]!);
      assert.ok(up.ok, up.ok ? '' : up.reason);
      if (!up.ok) return;
      const { values, ...header } = up.packet;
      assert.equal(header, { type: MSG_UPDATE, sizeClass: SIZE_CLASS, job: 9, packetId: 77, slot: 203, copy: 1, e0: 5, e1: -9, exponentsOnly: rootOffers });
      assert.is(sent[0]!.length, rootOffers ? 10 : packetBytes(SIZE_CLASS));
      assert.ok(new Uint8Array(values.buffer, values.byteOffset, values.byteLength).every((b) => b === 0), 'the values are zeros');
      // The root answers in kind; the leaf's workers get it on their job and slot.
      answer(encodePacket({ ...header, type: MSG_RESULT, e0: 6 }));
      assert.is(down.length, 1);
      const result = decodePacket(down[0]!);
      assert.ok(result.ok && result.packet.job === leafJob.number && result.packet.slot === 13 && result.packet.e0 === 6 && result.packet.exponentsOnly === rootOffers);
    } finally {
      link.close();
    }
  });
}

test.run();
