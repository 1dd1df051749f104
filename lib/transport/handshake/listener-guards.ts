// Error handlers for a WebSocket listener's servers (Node only), installed once it listens.
// Errors of accepted connections are the door's (web-socket-door.ts); these are the servers':
// - ws re-emits its http server's 'error' (e.g. accept() failing for want of file descriptors)
//   on the WebSocketServer, where an unheard 'error' would end the process;
// - a malformed HTTP request is the client's problem: it is logged and that socket destroyed.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocketServer } from 'ws';
import type { Logger } from '../../log.js';

export function guardListener(http: Server, server: WebSocketServer, who: string, log: Logger): void {
  server.on('error', (error) => log.warn(`${who}: ${error.message}`));
  http.on('clientError', (error, duplex) => {
    const socket = duplex as Socket; // what http.Server gives, typed as the Duplex it may be in general
    log.info(`${who}: malformed HTTP request from ${socket.remoteAddress}:${socket.remotePort}: ${error.message}`);
    // What Node does without a listener: answer 400 if nothing was written yet, then hang up.
    if (socket.writable && socket.bytesWritten === 0) socket.write('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    socket.destroy();
  });
}
