// Plain-words explanations of the Twilio failures a test send usually meets, for operators setting
// up a tenant. Source: Twilio's error dictionary, https://www.twilio.com/docs/api/errors/<code>
// (docs/twilio-reference.md §"Error codes" summarises the ones cited here).

const HINTS: Record<number, string> = {
  // https://www.twilio.com/docs/api/errors/20003
  20003: 'Twilio refused the credentials: check the account SID and auth token (no stray spaces; a live token, not a test one).',
  // https://www.twilio.com/docs/api/errors/21211
  21211: "The 'to' number is not a valid phone number: give it in E.164 (+ country code and number).",
  // https://www.twilio.com/docs/api/errors/21408
  21408: "The account is not allowed to send to this country: enable it in the Twilio console's geographic permissions.",
  // https://www.twilio.com/docs/api/errors/21606
  21606: "The 'from' number is not a number of this Twilio account (or cannot send SMS): set a from number the account owns.",
  // https://www.twilio.com/docs/api/errors/21608
  21608: 'A trial account can only text numbers verified in the Twilio console: verify this number there, or upgrade the account.',
  // https://www.twilio.com/docs/api/errors/21610
  21610: 'This recipient replied STOP to this sender and is unsubscribed: they must text START before they can receive messages again.',
  // https://www.twilio.com/docs/api/errors/21612
  21612: 'Twilio cannot route a message between this sender and this recipient (unreachable or not permitted): try another from number.',
  // https://www.twilio.com/docs/api/errors/21659
  21659: "The 'from' number is not a Twilio number of this account: set a from number (or Messaging Service) the account owns.",
  // https://www.twilio.com/docs/api/errors/30003
  30003: 'The handset was unreachable (switched off or out of coverage): try again later.',
  // https://www.twilio.com/docs/api/errors/30005
  30005: 'The destination number does not exist (unknown to its carrier): check the number.',
  // https://www.twilio.com/docs/api/errors/30006
  30006: 'The destination is a landline (or its carrier cannot receive SMS): text a mobile number.',
  // https://www.twilio.com/docs/api/errors/30007
  30007: 'The carrier filtered the message (spam rules, content, or an unregistered sender such as US A2P 10DLC): register the sender or change the text.',
  // https://www.twilio.com/docs/api/errors/30008
  30008: 'Delivery failed for a reason the carrier did not give: try again, and contact Twilio support if it persists.',
};

/** The hint for a Twilio error code, or null when there is none. */
export function twilioHint(code: number | null | undefined): string | null {
  return code == null ? null : (HINTS[code] ?? null);
}
