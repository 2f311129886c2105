import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { Database, MessageEventsTable, MessagesTable } from './schema.js';
import { prepare, type Prepared } from './prepared.js';
import { WriteBatcher } from './write-batcher.js';
import type { Db } from './db.js';

export type MessageRow = Selectable<MessagesTable>;
export type NewMessageEvent = Insertable<MessageEventsTable>;
type Executor = Kysely<Database> | Transaction<Database>;

const EVENT_COLUMNS = ['message_id', 'tenant_id', 'status', 'source', 'error_code', 'provider_code', 'data', 'created_at'] as const satisfies readonly (keyof MessageEventsTable)[];

/**
 * What is left of the former Store while the services not moved to repositories yet (consent,
 * conversations, inbound, verifications) still use it: the Kysely handle and the group commit,
 * which the repositories share (createRepositories).
 */
export class Store {
  readonly kysely: Kysely<Database>;
  readonly dialect: Db['dialect'];
  readonly batcher: WriteBatcher;
  private readonly insertEventQ: Prepared<Record<(typeof EVENT_COLUMNS)[number], unknown>, unknown>;

  constructor(readonly db: Db) {
    this.kysely = db.kysely;
    this.dialect = db.dialect;
    this.batcher = new WriteBatcher(db.kysely, db.maxWriters);
    const k = db.kysely;
    this.insertEventQ = prepare((p) => k.insertInto('message_events').values(Object.fromEntries(EVENT_COLUMNS.map((c) => [c, p(c)])) as any));
  }

  /** Runs a write in the next group commit (see WriteBatcher). */
  write<T>(op: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.batcher.run(op);
  }

  /** Appends to a message's history (inbound messages; see MessagesRepository for the rest). */
  async insertEvent(trx: Executor, event: NewMessageEvent): Promise<void> {
    await this.insertEventQ(trx, event as Record<(typeof EVENT_COLUMNS)[number], unknown>);
  }
}
