// The WebSocket link of a switch worker (platform-neutral: a browser's WebSocket, or `ws` in
// Node injected as a WebSocketConstructor). One socket carries everything: the join (the hello,
// a text message), the switch's welcome and 'ended' (text), and SwitchML packets both ways as
// binary messages, byte for byte the datagrams of the UDP link. A refusal is the socket closed
// with a code and the reason.
import { invalidArgument, invalidUsage, systemError, timeoutError } from '../errors.js';
import { globalWebSocket, WEB_SOCKET_OPEN, type WebSocketConstructor, type WebSocketLike } from '../transport/handshake/web-socket-like.js';
import { parseSwitchMessage, type Join, type Welcome } from './control-protocol.js';
import type { LinkEvents, OpenedLink } from './switch-link.js';

export function openWebSocketLink(url: string, WebSocket: WebSocketConstructor | undefined, join: Join, name: string, timeoutMs: number): Promise<OpenedLink> {
  const Ctor = WebSocket ?? globalWebSocket();
  if (Ctor === undefined) return Promise.reject(invalidArgument(`${name}: no WebSocket here; pass one (nodeWebSocket() in Node 20)`));
  if (!/^wss?:\/\//.test(url)) return Promise.reject(invalidArgument(`${name}: a WebSocket switch address is a ws:// or wss:// URL`));
  return new Promise((resolve, reject) => {
    let socket: WebSocketLike;
    try {
      socket = new Ctor(url);
    } catch (error) {
      reject(systemError(`${name}: cannot open ${url}`, error));
      return;
    }
    socket.binaryType = 'arraybuffer';
    let welcome: Welcome | undefined;
    let failed = false;
    let events: LinkEvents | undefined;
    const heldEnded: string[] = [];
    const fail = (error: Error) => {
      if (welcome !== undefined || failed) return;
      failed = true;
      clearTimeout(timer);
      socket.close();
      reject(error);
    };
    const timer = setTimeout(() => fail(timeoutError(`${name}: job '${join.world}' did not start within ${timeoutMs} ms (waiting for all ${join.size} workers to join)`)), timeoutMs);
    socket.addEventListener('open', () => socket.send(JSON.stringify({ ...join, via: 'websocket', udpPort: undefined })));
    socket.addEventListener('message', ({ data }) => {
      if (typeof data !== 'string') {
        // Packets only count once the job runs; the switch sends none before the welcome.
        if (events && welcome) events.packet(data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data as ArrayBufferLike));
        return;
      }
      let message;
      try {
        message = parseSwitchMessage(data);
      } catch {
        return fail(systemError(`${name} sent something that is not a switch message`));
      }
      if (message.t === 'welcome' && welcome === undefined) {
        clearTimeout(timer);
        welcome = message;
        resolve({ welcome, attach });
      } else if (message.t === 'ended') {
        if (events) events.ended(message.reason);
        else heldEnded.push(message.reason);
      } else if (message.t === 'refused') fail(invalidUsage(`${name} refused rank ${join.rank} of job '${join.world}': ${message.reason}`));
    });
    socket.addEventListener('error', (event) => fail(systemError(`${name}: cannot connect to ${url}${event.message ? `: ${event.message}` : ''}`)));
    socket.addEventListener('close', (event) => {
      if (welcome !== undefined) return events?.closed();
      const reason = event.reason ? `: ${event.reason}` : '';
      fail(invalidUsage(`${name} refused rank ${join.rank} of job '${join.world}' (${event.code ?? 1006}${reason})`));
    });
    let closed = false;
    const attach = (listener: LinkEvents) => {
      events = listener;
      for (const reason of heldEnded.splice(0)) listener.ended(reason);
      if (socket.readyState > WEB_SOCKET_OPEN) listener.closed();
      return {
        send: (bytes: Uint8Array) => { if (!closed && socket.readyState === WEB_SOCKET_OPEN) socket.send(bytes); },
        close: () => {
          if (closed) return;
          closed = true;
          socket.close();
        },
      };
    };
  });
}
