// Privacy: retention (redacting old bodies), a number's erasure and its export.
import type { ConsentEventRecord, SuppressionRecord } from './consent.js';
import type { ContactRecord } from './contacts.js';
import type { ConversationRecord } from './conversations.js';
import type { MessageEventRecord, MessageRecord } from './messages.js';
import type { Tx } from './tx.js';

export interface HeldAboutNumber {
  contact: ContactRecord | undefined;
  conversations: ConversationRecord[];
  /** Newest first, at most the limit asked for. */
  messages: MessageRecord[];
  events: MessageEventRecord[];
  consentEvents: ConsentEventRecord[];
  suppression: SuppressionRecord | undefined;
  lookup: { data: string; fetched_at: number } | undefined;
}

export interface Erasure {
  tenantId: string;
  /** E.164 of the number. */
  phone: string;
  /** What replaces it (a keyed hash); `whatsapp:` addresses keep their prefix. */
  replacement: string;
  /** The number's country, kept on its messages for the usage rollup. */
  country: string;
  now: number;
}

export interface ErasureCounts {
  messages: number;
  conversations: number;
  contacts: number;
}

export interface PrivacyRepository {
  /** Redacts bodies and media URLs of up to `limit` of the tenant's messages created before `before` (not those still waiting to be sent). */
  redactOlderThan(tx: Tx, tenantId: string, before: number, now: number, limit: number): Promise<number>;
  /** Ids of the number's messages still waiting in the outbox (canceled before an erasure). */
  waitingTo(tenantId: string, phone: string): Promise<string[]>;
  erase(tx: Tx, e: Erasure): Promise<ErasureCounts>;
  held(tenantId: string, phone: string, messageLimit: number): Promise<HeldAboutNumber>;
}
