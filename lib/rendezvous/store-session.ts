// Serves store requests on one accepted connection (Node side of the rendezvous server).
// The socket's 'error' events (protocol violations) are heard by its door (web-socket-door.ts)
// for its whole life; ws then closes it, which ends the session through 'close' below.
import type { WebSocket } from 'ws';
import { logger } from '../log.js';
import { CLOSE_BAD_FRAME, closeReason } from '../transport/handshake/handshake.js';
import type { KeyValueStore } from './key-value-store.js';
import { base64ToBytes, bytesToBase64, parseStoreRequest, type StoreReply, type StoreRequest } from './store-protocol.js';

const log = logger('STORE');

export function serveStore(socket: WebSocket, store: KeyValueStore, peer: string): void {
  const cancels = new Set<() => void>();
  const reply = (message: StoreReply) => socket.send(JSON.stringify(message));

  const answer = (request: StoreRequest): void => {
    switch (request.t) {
      case 'set':
        store.set(request.key, base64ToBytes(request.value));
        return reply({ t: 'ok', id: request.id });
      case 'add':
        return reply({ t: 'number', id: request.id, value: store.add(request.key, request.n) });
      case 'get':
      case 'wait': {
        const keys = request.t === 'get' ? [request.key] : request.keys;
        // whenPresent may answer synchronously, before it has returned its cancel function.
        let answered = false;
        let cancel = () => {};
        cancel = store.whenPresent(keys, () => {
          answered = true;
          cancels.delete(cancel);
          if (request.t === 'get') reply({ t: 'value', id: request.id, value: bytesToBase64(store.get(request.key)!) });
          else reply({ t: 'ok', id: request.id });
        });
        if (!answered) cancels.add(cancel);
      }
    }
  };

  socket.on('message', (data, isBinary) => {
    let request: StoreRequest;
    try {
      if (isBinary) throw new Error('binary message on a store connection');
      request = parseStoreRequest(String(data));
    } catch (error) {
      const message = `store: closing connection from ${peer}: ${(error as Error).message}`;
      log.warn(message);
      socket.close(CLOSE_BAD_FRAME, closeReason((error as Error).message));
      return;
    }
    try {
      answer(request);
    } catch (error) {
      reply({ t: 'error', id: request.id, message: (error as Error).message });
    }
  });
  // A client that leaves stops waiting: its waiters must not pile up in the store.
  socket.on('close', () => cancels.forEach((cancel) => cancel()));
}
