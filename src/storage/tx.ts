// The one place where the storage port's opaque Tx meets Kysely's transaction type.
import type { Transaction } from 'kysely';
import type { Tx } from '../ports.js';
import type { Database } from './schema.js';

export const kx = (tx: Tx): Transaction<Database> => tx as unknown as Transaction<Database>;
export const asTx = (trx: Transaction<Database>): Tx => trx as unknown as Tx;
