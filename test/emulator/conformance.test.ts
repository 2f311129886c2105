// The spec validators themselves (they must accept Twilio's own examples and reject drift), and the
// emulator's webhook signing against the shared signature vectors.
import { parse as parseQuery } from 'node:querystring';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { signedRequest } from '../../src/emulator/webhooks.js';
import { findOperation, requestValidator, responseExamples, responseValidator } from './openapi.js';
import { signatureVectors } from '../support/signature-vectors.js';

const OPERATIONS = [
  'CreateMessage',
  'FetchMessage',
  'ListMessage',
  'UpdateMessage',
  'DeleteMessage',
  'CreateService',
  'FetchService',
  'ListService',
  'CreateVerification',
  'FetchVerification',
  'UpdateVerification',
  'CreateVerificationCheck',
  'FetchPhoneNumber',
  'FetchAccount',
  'ListIncomingPhoneNumber',
  'FetchIncomingPhoneNumber',
  'UpdateIncomingPhoneNumber',
  'messaging_v1:FetchService',
  'messaging_v1:UpdateService',
  'messaging_v1:ListPhoneNumber',
];

describe('response validators', () => {
  for (const op of OPERATIONS) {
    it(`accept every example of ${op} in the spec`, () => {
      const { spec, path, method } = findOperation(op);
      for (const ex of responseExamples(spec, path, method)) {
        expect(() => responseValidator(spec, path, method, ex.status)(ex.value), `${op} example ${ex.name}`).not.toThrow();
      }
    });
  }

  const path = '/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json';
  const example = responseExamples('api_v2010', path, 'get')[0]!.value as Record<string, unknown>;
  const validate = responseValidator('api_v2010', path, 'get', 200);

  it('reject a missing field, a wrong type, an extra field and a wrong date format', () => {
    const { num_segments: _, ...missing } = example;
    expect(() => validate(missing)).toThrow(/num_segments/);
    expect(() => validate({ ...example, num_segments: 1 })).toThrow(/num_segments/);
    expect(() => validate({ ...example, segments: '1' })).toThrow(/additional/);
    expect(() => validate({ ...example, date_created: '2023-08-24T05:01:45Z' })).toThrow(/date_created/);
    expect(() => validate({ ...example, status: 'done' })).toThrow(/status/);
  });

  it('check undocumented error answers against Twilio’s error shape', () => {
    const v = responseValidator('api_v2010', '/2010-04-01/Accounts/{AccountSid}/Messages.json', 'post', 400);
    expect(() => v({ code: 21211, message: 'x', more_info: 'https://www.twilio.com/docs/errors/21211', status: 400 })).not.toThrow();
    expect(() => v({ code: '21211', message: 'x', more_info: 'u', status: 400 })).toThrow();
    expect(() => v({ error: { code: 21211 } })).toThrow();
  });
});

describe('request validators', () => {
  const create = requestValidator('api_v2010', '/2010-04-01/Accounts/{AccountSid}/Messages.json', 'post');

  it('accept form strings for typed parameters and repeated keys for arrays', () => {
    expect(() =>
      create({
        To: '+14155552671',
        From: '+15005550006',
        Body: 'hi',
        ValidityPeriod: '600',
        SmartEncoded: 'true',
        MediaUrl: ['https://e.com/a.png', 'https://e.com/b.png'],
      }),
    ).not.toThrow();
  });

  it('reject unknown parameters and ill-typed values', () => {
    expect(() => create({ To: '+14155552671', Bodyy: 'hi' })).toThrow(/additional/);
    expect(() => create({ To: '+14155552671', ValidityPeriod: 'ten' })).toThrow(/ValidityPeriod/);
    expect(() => create({ To: '+14155552671', MessagingServiceSid: 'MG123' })).toThrow(/MessagingServiceSid/);
    expect(() => create({ Body: 'no recipient' })).toThrow(/To/);
  });
});

const formVectors = signatureVectors.filter((v) => !v.url.includes('bodySHA256') && Object.values(v.params).every((x) => typeof x === 'string'));

describe('webhook signing (test/fixtures/twilio/signature-test-vectors.json)', () => {
  it('covers the status-callback and inbound vectors', () => {
    expect(formVectors.map((v) => v.name)).toEqual(expect.arrayContaining(['A-status-callback', 'B-inbound-unicode-media', 'fixture-default']));
  });

  for (const v of formVectors) {
    it(`signs ${v.name} like Twilio, in a body that decodes back to the same parameters`, () => {
      const params = v.params as Record<string, string>;
      const { body, headers } = signedRequest(v.authToken, v.url, params, 'token');
      expect(headers['x-twilio-signature']).toBe(v.expectedSignature);
      expect({ ...parseQuery(body) }).toEqual(params);
      expect(twilio.validateRequest(v.authToken, headers['x-twilio-signature']!, v.url, parseQuery(body) as Record<string, string>)).toBe(true);
    });
  }
});
