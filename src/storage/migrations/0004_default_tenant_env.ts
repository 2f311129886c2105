import type { Kysely } from 'kysely';

// Until now every process start copied its environment (TWILIO_FROM_NUMBER, TWILIO_MESSAGING_SERVICE_SID,
// TWILIO_WHATSAPP_NUMBER, SMSRELAY_DEFAULT_REGION) into the default tenant's row, so whichever process
// started last decided for all of them. The environment is now applied when the tenant is read, and
// values stored in the row win over it. The default row's values were only such copies (nothing else
// wrote them), so they are cleared and each process's environment applies again.
export async function up(db: Kysely<any>): Promise<void> {
  await db
    .updateTable('tenants')
    .set({ from_number: null, messaging_service_sid: null, whatsapp_from: null, default_region: null })
    .where('slug', '=', 'default')
    .execute();
}
