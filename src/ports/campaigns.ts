// The campaigns aggregate: a campaign, its audience (one row per recipient, streamed in and
// numbered per campaign) and the campaign's view of the messages created for its recipients.
import type { Tx } from './tx.js';

export interface CampaignRecord {
  id: string;
  tenant_id: string;
  name: string;
  /** draft | scheduled | running | paused | completed | canceled (core/campaigns.ts). */
  status: string;
  template_name: string | null;
  template_locale: string | null;
  body: string | null;
  category: string;
  from_addr: string | null;
  messaging_service_sid: string | null;
  /** Messages per second at most (under the sender's pacing); null: unlimited. */
  rate: number | null;
  start_at: number | null;
  dedupe: number;
  /** JSON array: the variables every recipient row must have. */
  variables: string;
  next_seq: number;
  uploaded_rows: number;
  duplicates: number;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface CampaignRecipientRecord {
  campaign_id: string;
  seq: number;
  tenant_id: string;
  phone: string;
  dedupe_key: string | null;
  country: string | null;
  /** JSON object of the row's variables. */
  variables: string;
  /** pending | messaged | invalid | suppressed | failed */
  status: string;
  row_number: number;
  error_code: string | null;
  error_message: string | null;
  message_id: string | null;
  locked_until: number | null;
  created_at: number;
  updated_at: number;
}

export type NewRecipient = Omit<CampaignRecipientRecord, 'seq' | 'campaign_id' | 'tenant_id' | 'message_id' | 'locked_until' | 'created_at' | 'updated_at'>;

/** A recipient with its message's outcome (null while it has none). */
export interface RecipientOutcome extends CampaignRecipientRecord {
  message_status: string | null;
  message_error_code: string | null;
  provider_sid: string | null;
  price: string | null;
}

/** Recipients counted by their row status and their message's status ('canceled' for those the campaign's cancel refused). */
export interface RecipientCount {
  status: string;
  message_status: string | null;
  count: number;
  /** Sum of the messages' prices (actual or estimated). */
  cost: number;
}

/** One alternative of a recipient filter: row status, and (if given) the message's statuses. */
export interface RecipientFilter {
  status: string;
  messageStatuses?: string[];
}

export interface CampaignsRepository {
  insert(tx: Tx, row: CampaignRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<CampaignRecord | undefined>;
  /** Any tenant's campaign (the dispatcher's and the dispatch policy's view). */
  byId(id: string): Promise<CampaignRecord | undefined>;
  /** Newest first; `before` is an id cursor. */
  list(tenantId: string, q: { before?: string; limit: number }): Promise<CampaignRecord[]>;
  /** One atomic state change, when the campaign is in one of `from`; the row as changed, else undefined. */
  move(
    tx: Tx,
    tenantId: string,
    id: string,
    from: readonly string[],
    set: Partial<Pick<CampaignRecord, 'status' | 'started_at' | 'finished_at'>> & { updated_at: number },
  ): Promise<CampaignRecord | undefined>;
  /**
   * Appends a batch of recipients (numbered after those already there); with dedupe, a phone already
   * in the campaign is dropped. Returns the statuses of the rows inserted; the rest are counted as duplicates.
   */
  appendRecipients(tx: Tx, campaign: { id: string; tenant_id: string }, rows: NewRecipient[], now: number): Promise<string[]>;
  /** Removes the recipients numbered from `fromSeq` on (a failed upload's) and takes them off the counts. */
  truncate(tx: Tx, campaignId: string, fromSeq: number, now: number): Promise<void>;
  /** Campaigns the dispatcher has work for: running, or scheduled and due. */
  active(now: number): Promise<CampaignRecord[]>;
  /** Leases up to `limit` pending recipients in upload order (FOR UPDATE SKIP LOCKED on PostgreSQL). */
  claimRecipients(campaignId: string, now: number, leaseMs: number, limit: number): Promise<CampaignRecipientRecord[]>;
  /** Links the recipient to its new message, in the message's transaction; false when it already has one. */
  link(tx: Tx, campaignId: string, seq: number, messageId: string, now: number): Promise<boolean>;
  /** Ends a pending recipient without a message (suppressed or failed at dispatch). */
  settle(campaignId: string, seq: number, status: string, error: { code: string; message: string }, now: number): Promise<void>;
  /** Gives claimed recipients back (not dispatched after all). */
  release(campaignId: string, seqs: number[]): Promise<void>;
  /** The campaign's messages still in the outbox as `pending`: its window of messages created ahead of sending. */
  windowSize(campaignId: string): Promise<number>;
  /** Whether anything is left: pending recipients, or messages not sent yet (pending or held). */
  outstanding(campaignId: string): Promise<number>;
  /** Messages of the campaign that reached the provider since `since`. */
  sentSince(campaignId: string, since: number): Promise<number>;
  counts(campaignId: string): Promise<RecipientCount[]>;
  /** Recipients after `afterSeq` in upload order, matching any of `filters` (all when empty). */
  recipients(campaignId: string, q: { filters: RecipientFilter[]; afterSeq?: number; limit: number }): Promise<RecipientOutcome[]>;
  /** Messages held by the campaign's pause: due again now. Returns how many. */
  releaseHeld(campaignId: string, now: number): Promise<number>;
  /** Ids of the campaign's messages not sent yet (pending or scheduled), at most `limit`. */
  unsentMessages(campaignId: string, limit: number): Promise<string[]>;
  /** Country and number of valid recipients still to message (estimate), grouped by country. */
  audienceByCountry(campaignId: string): Promise<{ country: string | null; status: string; count: number }[]>;
}
