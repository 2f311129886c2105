// TwiML answers built with the twilio package's MessagingResponse (it escapes the text).
import MessagingResponse from 'twilio/lib/twiml/MessagingResponse.js';
import type { TwimlReplies } from '../ports.js';

const EMPTY = new MessagingResponse().toString();

export const twimlReplies: TwimlReplies = {
  message(text) {
    const r = new MessagingResponse();
    r.message(text);
    return r.toString();
  },
  empty: () => EMPTY,
};
