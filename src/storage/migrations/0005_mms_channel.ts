import type { Kysely } from 'kysely';

// Outbound messages with media were stored as channel 'sms' although Twilio sends (and prices) them
// as MMS; the channel now says how a message travels, for the rows already stored too.
export async function up(db: Kysely<any>): Promise<void> {
  await db.updateTable('messages').set({ channel: 'mms' }).where('channel', '=', 'sms').where('media_urls', 'is not', null).execute();
}
