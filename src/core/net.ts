// Addresses, as pure string checks: who counts as a client on this machine (the emulator's access
// gate and the metrics endpoint decide by the socket's peer address, never by X-Forwarded-For).

/** A peer address (or a bind host) on this machine's loopback interface. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || a === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}
