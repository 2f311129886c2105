import type { ColumnType } from 'kysely';

/** Epoch milliseconds: integer on SQLite, bigint on PostgreSQL (read back as numbers). */
export type Ms = ColumnType<number, number, number>;
