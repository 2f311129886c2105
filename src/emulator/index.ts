// A local, Twilio-compatible server for SMS (what Mailpit is for e-mail). See README.md.
import { EmulatorServer } from './server.js';
import type { Emulator, EmulatorOptions } from './types.js';

export { DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_NUMBERS } from './defaults.js';
export { CHAOS_ENDPOINTS } from './chaos.js';
export { MIN_ACCESS_TOKEN_LENGTH } from './access.js';
export type { EmulatorAccess } from './types.js';
export type * from './types.js';

export interface EmulatorInstance extends Emulator {
  /** The Messaging Service SIDs it accepts (one is generated when none was configured). */
  readonly messagingServiceSids: readonly string[];
}

export function createEmulator(opts: EmulatorOptions = {}): EmulatorInstance {
  return new EmulatorServer(opts);
}
