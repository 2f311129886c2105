// What the operator commands (`smsrelay twilio connect`, `smsrelay doctor`) run against: the
// Twilio account of the configuration (or of a tenant), and the database without migrating it.
import type { Config } from '../config.js';
import { systemClock, type TwilioAccountAdmin } from '../ports.js';
import { TwilioAccount } from '../providers/twilio-account.js';
import { runDoctor, type CheckResult } from '../services/doctor.js';
import { openDatabase } from '../storage/db.js';
import { pendingMigrations } from '../storage/migrate.js';

/** The account these credentials open, through TWILIO_API_BASE_URL when set (an emulator). */
export function twilioAccount(config: Config, creds: { accountSid: string; authToken: string }): TwilioAccountAdmin {
  return new TwilioAccount({ ...creds, apiBaseUrl: config.twilio.apiBaseUrl });
}

/** The installation's own account; null when no credentials are configured. */
export function configuredAccount(config: Config): TwilioAccountAdmin | null {
  const { accountSid, authToken } = config.twilio;
  return config.provider === 'twilio' && accountSid && authToken ? twilioAccount(config, { accountSid, authToken }) : null;
}

export function doctor(config: Config): Promise<CheckResult[]> {
  return runDoctor({
    config,
    account: configuredAccount(config),
    clock: systemClock,
    async database() {
      const db = await openDatabase(config.databaseUrl);
      try {
        return { dialect: db.dialect, pending: await pendingMigrations(db.kysely) };
      } finally {
        await db.destroy();
      }
    },
  });
}
