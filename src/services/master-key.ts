// Master key rotation: every stored secret (tenants' Twilio auth tokens) re-encrypted under the new
// key in one transaction, so a crash leaves all of them under the old key (rolled back) or all
// under the new one; the cipher reads both meanwhile (SMSRELAY_MASTER_KEY_PREVIOUS).
import type { Cipher } from '../core/cipher.js';
import type { TenantsRepository, UnitOfWork } from '../ports.js';
import { tokenAad } from './tenants.js';

export interface RotationResult {
  /** Secrets re-encrypted under the new key. */
  reencrypted: number;
  /** Secrets already under the new key (a rotation run again). */
  alreadyCurrent: number;
}

/**
 * `cipher` encrypts with the new key and decrypts with it or any previous key. `onRow` is told
 * about each secret before it is rewritten (progress; a throw aborts and rolls everything back).
 */
export async function rotateMasterKey(
  d: { tenants: Pick<TenantsRepository, 'encryptedSecrets' | 'setEncryptedToken'>; write: UnitOfWork['write'] },
  cipher: Cipher,
  onRow?: (index: number, total: number) => void,
): Promise<RotationResult> {
  return d.write(async (tx) => {
    const rows = await d.tenants.encryptedSecrets(tx);
    let reencrypted = 0;
    for (const [i, r] of rows.entries()) {
      const aad = tokenAad(r.id);
      if (cipher.isCurrent(r.twilio_auth_token_enc, aad)) continue;
      onRow?.(i, rows.length);
      await d.tenants.setEncryptedToken(tx, r.id, cipher.encrypt(cipher.decrypt(r.twilio_auth_token_enc, aad), aad));
      reencrypted++;
    }
    return { reencrypted, alreadyCurrent: rows.length - reencrypted };
  });
}
