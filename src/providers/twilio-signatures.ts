// X-Twilio-Signature checks with the official twilio package (validateRequest / validateRequestWithBody).
import { validateRequest, validateRequestWithBody } from 'twilio/lib/webhooks/webhooks.js';
import type { SignedRequest, WebhookSignatures } from '../ports.js';

/**
 * True when one of the tokens signed the request. Form webhooks sign URL + every sorted field;
 * JSON webhooks sign the URL only and carry the body's SHA-256 in its `bodySHA256` parameter.
 */
export function verifySignature(tokens: readonly string[], req: SignedRequest): boolean {
  const sig = req.signature;
  if (typeof sig !== 'string' || sig.length === 0 || sig.length > 128) return false;
  for (const token of tokens) {
    try {
      const ok =
        req.rawJsonBody !== null
          ? req.url.includes('bodySHA256=') && validateRequestWithBody(token, sig, req.url, req.rawJsonBody)
          : validateRequest(token, sig, req.url, req.params);
      if (ok) return true;
    } catch {
      // An unparsable URL (a forged Host header) cannot carry a valid signature.
    }
  }
  return false;
}

export const twilioSignatures: WebhookSignatures = { verify: verifySignature };
