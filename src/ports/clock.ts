// Time and randomness come through these ports, so tests can be deterministic.
import { randomBytes, randomInt } from 'node:crypto';
import { uuidv7 } from 'uuidv7';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface Random {
  /** A time-ordered unique id (UUIDv7). */
  id(): string;
  /** Cryptographically strong random bytes. */
  bytes(n: number): Buffer;
  /** A uniformly distributed integer in [min, max) from a CSPRNG. */
  int(min: number, max: number): number;
}

export const systemRandom: Random = { id: uuidv7, bytes: (n) => randomBytes(n), int: (min, max) => randomInt(min, max) };
