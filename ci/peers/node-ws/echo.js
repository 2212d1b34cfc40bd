#!/usr/bin/env node
// Echo server on the `ws` library (the version pinned in package.json / package-lock.json):
// a widely used, well-tested peer that wsharness and Autobahn|Testsuite should both rate OK.
//
// Usage: node echo.js PORT        (loopback only; port 0 picks a free port)
// Prints "node-ws listening on ws://127.0.0.1:PORT/" once it accepts connections.
// Every text or binary message is sent back as received; ws answers pings, validates UTF-8 and
// runs the closing handshake itself. permessage-deflate stays off (the ws server default) unless
// WS_DEFLATE=1 is set: then ws negotiates it with its defaults (messages under 1 KiB are sent uncompressed).
'use strict';

const { WebSocketServer } = require('ws');

const port = Number.parseInt(process.argv[2] ?? '', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: node echo.js PORT');
  process.exit(2);
}

// 64 MiB: above Autobahn 9.x's largest message (16 MiB)
const perMessageDeflate = process.env.WS_DEFLATE === '1';
const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 64 * 1024 * 1024, perMessageDeflate });

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {}); // protocol errors: ws already failed the connection with the right code
});
wss.on('listening', () => {
  console.log(`node-ws listening on ws://127.0.0.1:${wss.address().port}/`);
});
wss.on('error', (err) => {
  console.error(`node-ws: ${err.message}`);
  process.exit(1);
});

const stop = () => {
  for (const ws of wss.clients) ws.close(1001);
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
