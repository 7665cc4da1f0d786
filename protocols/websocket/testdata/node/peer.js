// Independent WebSocket peer (Node ws) for the interop tests.
//   node peer.js client URL [PARAMS]   run the scenario against an echo server, print OK
//   node peer.js server [PARAMS]       run an echo server, print its port
// PARAMS is a JSON object of permessage-deflate parameters with their
// RFC 7692 names (server_no_context_takeover, client_no_context_takeover,
// server_max_window_bits, client_max_window_bits).
'use strict';
const WebSocket = require('ws');
const assert = require('assert');

setTimeout(() => { console.log('TIMEOUT'); process.exit(2); }, 30000).unref();

function deflateOptions(json) {
  const o = { threshold: 0 };
  if (!json) return o;
  const p = JSON.parse(json);
  const names = {
    server_no_context_takeover: 'serverNoContextTakeover',
    client_no_context_takeover: 'clientNoContextTakeover',
    server_max_window_bits: 'serverMaxWindowBits',
    client_max_window_bits: 'clientMaxWindowBits',
  };
  for (const [k, v] of Object.entries(p)) o[names[k]] = v;
  return o;
}

function chat(i) {
  return `{"type":"message","room":"general","from":"user${i % 5}","text":"message number ${i}, hello again"}`;
}

function next(ws) {
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('message', (data, isBinary) => {
      ws.removeListener('error', reject);
      resolve({ data, isBinary });
    });
  });
}

async function client(url, params) {
  const ws = new WebSocket(url, { perMessageDeflate: deflateOptions(params), maxPayload: 1 << 24 });
  let ext = '';
  ws.once('upgrade', (res) => { ext = res.headers['sec-websocket-extensions'] || ''; });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  assert.ok((ws.extensions || '').includes('permessage-deflate'), 'compression not negotiated');
  ws.send('hello');
  let m = await next(ws);
  assert.strictEqual(m.isBinary, false);
  assert.strictEqual(m.data.toString(), 'hello');
  const bin = Buffer.from([...Array(256).keys()]);
  ws.send(bin);
  m = await next(ws);
  assert.strictEqual(m.isBinary, true);
  assert.ok(bin.equals(m.data), 'binary echo');
  const big = 'κόσμε 0123456789 '.repeat(12000);
  ws.send(big);
  m = await next(ws);
  assert.strictEqual(m.data.toString(), big);
  for (let i = 0; i < 40; i++) {
    ws.send(chat(i));
    m = await next(ws);
    assert.strictEqual(m.data.toString(), chat(i), 'chat echo ' + i);
  }
  ws.send('frag', { fin: false });
  ws.send('men', { fin: false });
  ws.send('ted', { fin: true });
  m = await next(ws);
  assert.strictEqual(m.data.toString(), 'fragmented');
  const pong = new Promise((resolve) => ws.once('pong', resolve));
  ws.ping('are you there');
  assert.strictEqual((await pong).toString(), 'are you there');
  const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  ws.close(4000, 'done');
  assert.strictEqual(await closed, 4000);
  console.log('OK ' + ext);
}

function server(params) {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0, perMessageDeflate: deflateOptions(params), maxPayload: 1 << 24 }, () => {
    console.log(wss.address().port);
  });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
}

if (process.argv[2] === 'client') {
  client(process.argv[3], process.argv[4]).catch((e) => { console.log('FAIL ' + e.stack); process.exit(1); });
} else {
  server(process.argv[3]);
}
