// The shared X-Twilio-Signature vectors (SDK fixtures and our own), loaded once for every test that uses them.
import { readFileSync } from 'node:fs';

export interface SignatureVector {
  name: string;
  authToken: string;
  url: string;
  params: Record<string, string | string[]>;
  expectedSignature: string;
  rawBody?: string;
}

const file = JSON.parse(readFileSync(new URL('../fixtures/twilio/signature-test-vectors.json', import.meta.url), 'utf8')) as {
  fixtures_from_sdk_tests: { vectors: SignatureVector[]; bodyHash: { body: string } };
  own_vectors: SignatureVector[] | { vectors: SignatureVector[] };
};

export const signatureVectors: SignatureVector[] = [
  ...file.fixtures_from_sdk_tests.vectors,
  ...(Array.isArray(file.own_vectors) ? file.own_vectors : file.own_vectors.vectors),
];

/** The raw JSON body a bodySHA256 vector was signed over. */
export function vectorRawBody(v: SignatureVector): string {
  return v.rawBody ?? file.fixtures_from_sdk_tests.bodyHash.body;
}
