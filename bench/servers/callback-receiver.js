// Status-callback receiver for (iii): reads each POST and answers 204. IPC 'count' → callbacks received.
import http from 'node:http';

let received = 0;
http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204);
      res.end();
    });
  })
  .listen(Number(process.argv[2]), '127.0.0.1', () => process.send?.('ready'));
process.on('message', (m) => {
  if (m === 'count') process.send({ received });
});
