// AES-256-GCM for secrets at rest (tenants' Twilio auth tokens). node:crypto only. The AAD binds a
// ciphertext to its row, so a token copied into another tenant's row does not decrypt.
import { createCipheriv, createDecipheriv } from 'node:crypto';

const VERSION = 'v1';

/** Where IVs come from: the Random port's CSPRNG in production. */
export interface ByteSource {
  bytes(n: number): Buffer;
}

function keyBytes(key: string): Buffer {
  const b = /^[0-9a-fA-F]{64}$/.test(key) ? Buffer.from(key, 'hex') : Buffer.from(key, 'base64');
  if (b.length !== 32) throw new Error('the master key must be 32 bytes');
  return b;
}

export class Cipher {
  private readonly key: Buffer;
  private readonly previous: Buffer[];

  /**
   * `key`: 32 bytes as 64 hex characters or base64 (validated by the config loader). `previous`:
   * keys of before a rotation, still accepted for decryption (GCM's tag tells which key fits), so
   * secrets stay readable whichever key wrote them while `smsrelay keys rotate-master` runs.
   */
  constructor(
    key: string,
    private readonly random: ByteSource,
    previous: readonly string[] = [],
  ) {
    this.key = keyBytes(key);
    this.previous = previous.map(keyBytes);
  }

  encrypt(plain: string, aad: string): string {
    // A GCM IV must never repeat under one key: 96 random bits per encryption.
    const iv = this.random.bytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return [VERSION, iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
  }

  /** Throws when the text was not produced by this key (or a previous one) for this AAD. */
  decrypt(text: string, aad: string): string {
    let failure: unknown;
    for (const key of [this.key, ...this.previous]) {
      try {
        return decryptWith(key, text, aad);
      } catch (e) {
        failure = e;
      }
    }
    throw failure;
  }

  /** Whether the current key (not a previous one) wrote this text: a rotation leaves those as they are. */
  isCurrent(text: string, aad: string): boolean {
    try {
      decryptWith(this.key, text, aad);
      return true;
    } catch {
      return false;
    }
  }
}

function decryptWith(key: Buffer, text: string, aad: string): string {
  const [v, iv, tag, ct] = text.split(':');
  if (v !== VERSION || !iv || !tag || ct === undefined) throw new Error('unknown ciphertext format');
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
}
