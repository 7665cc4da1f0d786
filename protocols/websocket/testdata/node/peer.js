// Independent WebSocket peer (Node ws) for the interop tests.
//   node peer.js client URL   run the scenario against an echo server, print OK
//   node peer.js server       run an echo server, print its port
'use strict';
const WebSocket = require('ws');
const assert = require('assert');

setTimeout(() => { console.log('TIMEOUT'); process.exit(2); }, 30000).unref();

function next(ws) {
  return new Promise((resolve, reject) => {
    ws.once('message', (data, isBinary) => resolve({ data, isBinary }));
    ws.once('error', reject);
  });
}

async function client(url) {
  const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 }, maxPayload: 1 << 24 });
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
  console.log('OK');
}

function server() {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 }, maxPayload: 1 << 24 }, () => {
    console.log(wss.address().port);
  });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
}

if (process.argv[2] === 'client') {
  client(process.argv[3]).catch((e) => { console.log('FAIL ' + e.stack); process.exit(1); });
} else {
  server();
}
