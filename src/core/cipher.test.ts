import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Cipher } from './cipher.js';

describe('Cipher (AES-256-GCM)', () => {
  const key = randomBytes(32).toString('hex');
  const csprng = { bytes: (n: number) => randomBytes(n) };

  it('round-trips and never repeats a ciphertext', () => {
    const c = new Cipher(key, csprng);
    const a = c.encrypt('secret-token', 'tenant:1');
    expect(a).not.toContain('secret-token');
    expect(c.encrypt('secret-token', 'tenant:1')).not.toBe(a);
    expect(c.decrypt(a, 'tenant:1')).toBe('secret-token');
    expect(new Cipher(Buffer.from(key, 'hex').toString('base64'), csprng).decrypt(a, 'tenant:1')).toBe('secret-token');
  });

  it('refuses another AAD, another key and tampered text', () => {
    const c = new Cipher(key, csprng);
    const a = c.encrypt('secret-token', 'tenant:1');
    expect(() => c.decrypt(a, 'tenant:2')).toThrow();
    expect(() => new Cipher(randomBytes(32).toString('hex'), csprng).decrypt(a, 'tenant:1')).toThrow();
    const parts = a.split(':');
    parts[3] = Buffer.from('x' + Buffer.from(parts[3], 'base64url').toString('latin1'), 'latin1').toString('base64url');
    expect(() => c.decrypt(parts.join(':'), 'tenant:1')).toThrow();
    expect(() => c.decrypt('garbage', 'tenant:1')).toThrow();
  });

  it('takes its IV from the given byte source', () => {
    const iv = Buffer.from('000102030405060708090a0b', 'hex');
    const asked: number[] = [];
    const c = new Cipher(key, {
      bytes: (n) => {
        asked.push(n);
        return iv;
      },
    });
    const a = c.encrypt('secret-token', 'tenant:1');
    expect(asked).toEqual([12]);
    expect(a.split(':')[1]).toBe(iv.toString('base64url'));
    expect(c.encrypt('secret-token', 'tenant:1')).toBe(a);
    expect(new Cipher(key, csprng).decrypt(a, 'tenant:1')).toBe('secret-token');
  });

  it('rejects keys that are not 32 bytes', () => {
    expect(() => new Cipher('abcd', csprng)).toThrow();
  });
});

describe('Cipher with a previous key (master key rotation)', () => {
  const csprng = { bytes: (n: number) => randomBytes(n) };
  const oldKey = randomBytes(32).toString('hex');
  const newKey = randomBytes(32).toString('hex');

  it('reads what either key wrote, writes with the new one only', () => {
    const before = new Cipher(oldKey, csprng).encrypt('tok', 'a');
    const during = new Cipher(newKey, csprng, [oldKey]);
    const after = during.encrypt('tok2', 'a');
    expect(during.decrypt(before, 'a')).toBe('tok');
    expect(during.decrypt(after, 'a')).toBe('tok2');
    expect(during.isCurrent(before, 'a')).toBe(false);
    expect(during.isCurrent(after, 'a')).toBe(true);
    expect(() => new Cipher(oldKey, csprng).decrypt(after, 'a')).toThrow();
    expect(() => during.decrypt(before, 'b')).toThrow();
  });
});
