// Raw status callbacks, de-duplicated by idempotency token or (MessageSid, MessageStatus): written
// with their moves (MessagesRepository.transitionCallbacks); here, those that arrived before their
// message's SID was stored (orphans).
import type { SignerScope } from './messages.js';
import type { Tx } from './tx.js';

export interface WebhookEventRecord {
  id: string;
  tenant_id: string;
  /** status | inbound */
  kind: string;
  message_sid: string;
  message_status: string;
  idempotency_token: string | null;
  /** Raw form fields (JSON text) of a callback not matched to a message yet. */
  params: string | null;
  message_id: string | null;
  created_at: number;
}

/** An orphan callback whose message is now known. */
export interface MatchedOrphan {
  event_id: string;
  params: string | null;
  message_status: string;
  idempotency_token: string | null;
  message_id: string;
  tenant_id: string;
}

export interface WebhookEventsRepository {
  /**
   * Orphan status callbacks newer than `since` whose SID now matches a message the signer may
   * touch (`installationScope` for those signed by the installation's account), oldest first.
   */
  matchedOrphans(since: number, limit: number, installationTenantId: string, installationScope: SignerScope): Promise<MatchedOrphan[]>;
  /** Attaches orphans to their messages; returns the ids attached here (not by another process first). */
  attach(tx: Tx, orphans: { eventId: string; messageId: string }[]): Promise<Set<string>>;
}
