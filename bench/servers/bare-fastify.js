// (a) The ceiling: bare Fastify answering 202 to a JSON POST, nothing else.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/v1/messages', async (_req, reply) => reply.code(202).send({ id: '0', status: 'pending' }));
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
process.send?.('ready');
