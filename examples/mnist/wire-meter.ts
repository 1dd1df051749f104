// Bytes a rank puts on the wire for allReduce calls, counted while the meter is on: the figure
// examples/mnist/train.ts logs and the browser demo charts ("bytes sent per step"). It wraps the
// communicator's transport.send, so it sees what the codec made of the gradients.
import type { Communicator, Header } from '../../lib/index.core.js';

export interface WireMeter {
  /** Zeroes the count and starts counting. */
  start(): void;
  /** Stops counting and returns the bytes counted since start(). */
  stop(): number;
}

export function meterAllReduceBytes(comm: Communicator): WireMeter {
  let counting = false;
  let bytes = 0;
  const transport = comm.transport as { send: (peer: number, header: Header, payload: Uint8Array) => Promise<void> };
  const send = transport.send.bind(transport);
  transport.send = (peer, header, payload) => {
    if (counting && header.signature.kind === 'allReduce') bytes += payload.byteLength;
    return send(peer, header, payload);
  };
  return {
    start: () => { bytes = 0; counting = true; },
    stop: () => { counting = false; return bytes; },
  };
}
