// Twilio's error JSON and the texts of the codes the emulator produces.

export class TwilioError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export function twilioErrorBody(status: number, code: number, message: string): TwilioErrorBody {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

export function notFound(path: string): TwilioError {
  return new TwilioError(404, 20404, `The requested resource ${path} was not found`);
}

/** error_message of asynchronous failures (docs/twilio-reference.md §8; 30007 as in the spec's example). */
const ASYNC_MESSAGES: Record<number, string> = {
  21610: 'Attempt to send to unsubscribed recipient',
  30001: 'Queue overflow',
  30002: 'Account suspended',
  30003: 'Unreachable destination handset',
  30004: 'Message blocked',
  30005: 'Unknown destination handset',
  30006: 'Landline or unreachable carrier',
  30007: 'Carrier violation',
  30008: 'Unknown error',
  30034: 'US A2P 10DLC - Message from an Unregistered Number',
  30036: 'Validity Period Expired',
};

export function asyncErrorMessage(code: number): string {
  return ASYNC_MESSAGES[code] ?? `Error ${code}`;
}
