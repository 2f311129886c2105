// Verification codes: the local backend (codes sent as messages, HMAC key from verifySecret) and
// Twilio Verify on the installation's account.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Clock, Provider, Random, Repositories } from '../ports.js';
import type { MessagesService } from '../services/messages.js';
import type { SettingsService } from '../services/settings.js';
import { VerificationsService } from '../services/verifications.js';
import { LocalVerifyBackend } from '../services/verifications/local-backend.js';
import { ProviderVerifyBackend } from '../services/verifications/provider-backend.js';

export interface VerificationsDeps {
  config: Config;
  repos: Repositories;
  settings: SettingsService;
  messages: MessagesService;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** The installation's provider, once there is one (ProviderHub.current). */
  provider(): Provider | null;
}

export function createVerifications(d: VerificationsDeps): VerificationsService {
  const { config, repos, random } = d;
  return new VerificationsService({
    write: repos.write,
    events: repos.events,
    verifications: repos.verifications,
    counters: repos.counters,
    settings: d.settings,
    clock: d.clock,
    random,
    logger: d.logger,
    config: config.verify,
    rejectFixedLine: config.rejectFixedLine,
    backends: {
      local: new LocalVerifyBackend({ messages: d.messages, random, secret: verifySecret(config, random), ttlS: config.verify.ttlS }),
      // Twilio Verify on the installation's account, when its provider has it (the emulator's does).
      twilio: new ProviderVerifyBackend({ provider: () => d.provider()?.verify ?? null }),
    },
  });
}

/**
 * The HMAC key of local verification codes: SMSRELAY_VERIFY_SECRET, else one generated at first use
 * into data/verify-secret (mode 0600). Lazy, so installs that never send a code write no file.
 * Several processes sharing a database need the same secret: set SMSRELAY_VERIFY_SECRET there.
 */
export function verifySecret(config: Config, random: Random): () => Buffer {
  let secret: Buffer | null = config.verify.secret ? Buffer.from(config.verify.secret) : null;
  return () => {
    if (secret) return secret;
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const path = join(config.dataDir, 'verify-secret');
    try {
      // 'wx': of two processes starting together, one writes and both read the same file.
      writeFileSync(path, random.bytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const text = readFileSync(path, 'utf8').trim();
    if (text.length < 32) throw new Error(`${path} holds no usable secret (at least 32 characters expected)`);
    secret = Buffer.from(text);
    return secret;
  };
}
