// Autobahn|Testsuite client runner for the `ws` library (the version in ci/peers/node-ws/package.json):
// the client half under test.
//
// Usage: NODE_PATH=.../node_modules node runner.js [BASE_URL] [AGENT]   (default ws://127.0.0.1:9001, node-ws)
// Env: JOBS (default 1): cases run at once, each on its own connection (Autobahn's runners run one at a time).
//
// Speaks the fuzzing server's API (Autobahn's `wstest -m fuzzingserver`, later `wsharness serve`):
// GET /getCaseCount (a text message with the count), then /runCase?case=N&agent=AGENT for N = 1..count
// (every message echoed as received, text as text, until the server closes), then /updateReports?agent=AGENT.
// The library keeps its defaults (permessage-deflate offered, UTF-8 checked, pings answered) except the
// message size limit: Autobahn 9.x sends up to 16 MiB.
'use strict';
const WebSocket = require('ws');

const BASE = process.argv[2] || 'ws://127.0.0.1:9001';
const AGENT = process.argv[3] || 'node-ws';
const OPTIONS = { maxPayload: 64 * 1024 * 1024 };
const JOBS = Math.max(1, parseInt(process.env.JOBS || '1', 10) || 1);

// Opens `path`, calls `onMessage(ws, data, isBinary)` for each message, resolves when the connection ends:
// with the error that ended it, if one did (a case that fails the connection on purpose ends so too).
function session(path, onMessage) {
  return new Promise((resolve) => {
    const ws = new WebSocket(BASE + path, OPTIONS);
    let failure = null;
    ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
    ws.on('error', (e) => {
      failure = failure || e;
    });
    ws.on('close', () => resolve(failure));
  });
}

async function main() {
  let count = 0;
  await session('/getCaseCount', (ws, data) => {
    count = parseInt(data.toString(), 10);
  });
  if (!(count > 0)) {
    throw new Error(`getCaseCount gave no case count (is the server at ${BASE}?)`);
  }
  console.log(`${AGENT}: ${count} cases`);
  let next = 1;
  const worker = async () => {
    for (let n = next++; n <= count; n = next++) {
      await session(`/runCase?case=${n}&agent=${encodeURIComponent(AGENT)}`, (ws, data, isBinary) => {
        ws.send(data, { binary: isBinary });
      });
    }
  };
  await Promise.all(Array.from({ length: JOBS }, worker));
  const failed = await session(`/updateReports?agent=${encodeURIComponent(AGENT)}`, () => {});
  if (failed) {
    throw new Error(`updateReports: ${failed.message}`);
  }
}

main().catch((e) => {
  console.error(`${AGENT}: ${e.message}`);
  process.exit(1);
});
