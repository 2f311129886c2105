// (r) The least work any relay can do: forward each request to the provider with fetch and answer
// with the SID. No database, no retries, no durability.
import Fastify from 'fastify';

const [port, base, accountSid, authToken] = process.argv.slice(2);
const auth = 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64');
const url = `${base}/2010-04-01/Accounts/${accountSid}/Messages.json`;
const app = Fastify({ logger: false });
app.post('/v1/messages', async (req, reply) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ To: req.body.to, From: '+15005550006', Body: req.body.body }).toString(),
  });
  const m = await res.json();
  return reply.code(res.status === 201 ? 202 : 502).send({ sid: m.sid });
});
await app.listen({ host: '127.0.0.1', port: Number(port) });
process.send?.('ready');
