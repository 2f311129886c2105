// (i) The ceiling: bare node:http that reads the form body and answers 201 with a message JSON of
// Twilio's shape and size, built once (no parsing, no validation, no state). IPC 'cpu' → process.cpuUsage().
import http from 'node:http';

const [port, accountSid] = process.argv.slice(2);
const sid = 'SM' + '0'.repeat(32);
const now = new Date().toUTCString().replace('GMT', '+0000');
const uri = `/2010-04-01/Accounts/${accountSid}/Messages/${sid}`;
const body = JSON.stringify({
  account_sid: accountSid,
  api_version: '2010-04-01',
  body: 'Your order #0 has shipped. Track it at https://example.com/t/0',
  date_created: now,
  date_sent: now,
  date_updated: now,
  direction: 'outbound-api',
  error_code: null,
  error_message: null,
  from: '+15005550006',
  messaging_service_sid: null,
  num_media: '0',
  num_segments: '1',
  price: null,
  price_unit: null,
  sid,
  status: 'queued',
  subresource_uris: { media: `${uri}/Media.json` },
  to: '+14155550000',
  uri: `${uri}.json`,
});
const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(201, headers);
      res.end(body);
    });
  })
  .listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
process.on('message', (m) => m === 'cpu' && process.send({ cpu: process.cpuUsage() }));
