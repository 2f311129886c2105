// (ii)/(iii) The Twilio emulator from dist/, alone in its process.
// argv: port, callbacks ('on' | 'off'), default status callback URL ('-' for none).
// IPC: 'cpu' → process.cpuUsage(); 'memory' → process.memoryUsage() (after a full GC when run with
// --expose-gc) and the number of messages held. No endpoint is added to the product for this.
import { createEmulator } from '../../dist/emulator/index.js';

const [port, callbacks, statusCallback] = process.argv.slice(2);
const emulator = createEmulator({ callbacks: callbacks === 'on', defaultStatusCallback: statusCallback === '-' ? null : statusCallback });
await emulator.listen(Number(port));
process.on('message', (m) => {
  if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
  if (m !== 'memory') return;
  globalThis.gc?.();
  const memory = process.memoryUsage();
  process.send({ memory, stored: emulator.messages().length });
});
process.send('ready');
