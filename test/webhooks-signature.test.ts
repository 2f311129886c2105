// X-Twilio-Signature validation against the shared vectors (SDK fixtures and our own), plus the
// rotations and failure modes the webhook routes rely on.
import { describe, expect, it } from 'vitest';
import { verifySignature } from '../src/providers/twilio-signatures.js';
import { signatureVectors, vectorRawBody } from './support/signature-vectors.js';

const vectors = signatureVectors;

describe('verifySignature', () => {
  it('has the vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(10);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('accepts vector %s', (_n, v) => {
    const json = v.url.includes('bodySHA256=');
    const rawJsonBody = json ? vectorRawBody(v) : null;
    expect(verifySignature([v.authToken], { url: v.url, signature: v.expectedSignature, params: v.params, rawJsonBody: rawJsonBody ?? null })).toBe(true);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('rejects vector %s with another token, URL or field', (_n, v) => {
    const base = { url: v.url, signature: v.expectedSignature, params: v.params, rawJsonBody: v.url.includes('bodySHA256=') ? vectorRawBody(v) : null };
    expect(verifySignature([v.authToken + 'x'], base)).toBe(false);
    expect(
      verifySignature([v.authToken], { ...base, url: v.url.replace('https://', 'http://').replace('/myapp', '/other').replace('/twilio', '/other') }),
    ).toBe(false);
    if (base.rawJsonBody === null) expect(verifySignature([v.authToken], { ...base, params: { ...v.params, Injected: '1' } })).toBe(false);
    else expect(verifySignature([v.authToken], { ...base, rawJsonBody: base.rawJsonBody + ' ' })).toBe(false);
  });

  it('accepts the secondary token during a rotation, and neither when both are wrong', () => {
    const v = vectors.find((x) => x.name.startsWith('A-'))!;
    const req = { url: v.url, signature: v.expectedSignature, params: v.params, rawJsonBody: null };
    expect(verifySignature(['new-primary-token', v.authToken], req)).toBe(true);
    expect(verifySignature(['new-primary-token', 'other'], req)).toBe(false);
  });

  it.each([
    ['no signature', undefined],
    ['empty signature', ''],
    ['garbage', '!!!'],
    ['huge', 'A'.repeat(10_000)],
  ])('rejects %s', (_n, sig) => {
    const v = vectors[0]!;
    expect(verifySignature([v.authToken], { url: v.url, signature: sig, params: v.params, rawJsonBody: null })).toBe(false);
  });

  it('rejects (does not throw on) an unparsable URL', () => {
    expect(verifySignature(['t'], { url: 'http://[bad host/x', signature: 'abc=', params: {}, rawJsonBody: null })).toBe(false);
  });
});
