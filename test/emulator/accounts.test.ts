// GET /2010-04-01/Accounts/{Sid}.json: what smsrelay fetches to check a tenant's credentials, answered
// as Twilio's OpenAPI spec says, through the official client; wrong credentials are 401 / 20003.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type EmulatorInstance } from '../../src/emulator/index.js';
import { twilioAccountCheck } from '../../src/providers/twilio.js';
import { ProviderError } from '../../src/ports.js';
import { requestValidator, responseValidator } from './openapi.js';

const PATH = '/2010-04-01/Accounts/{Sid}.json';

describe('emulator: Account fetch', () => {
  let emulator: EmulatorInstance;
  let base: string;
  const ops: string[] = [];

  beforeAll(async () => {
    emulator = createEmulator({
      onApiRequest: (op, params) => {
        ops.push(op);
        if (op === 'FetchAccount') requestValidator('api_v2010', PATH, 'get')(params);
      },
    });
    base = await emulator.listen(0, '127.0.0.1');
  });
  afterAll(() => emulator?.close());

  const get = (sid: string, user = emulator.accountSid, pass = emulator.authToken, method = 'GET') =>
    fetch(`${base}/2010-04-01/Accounts/${sid}.json`, { method, headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` } });

  it('answers the account as the spec describes it', async () => {
    const r = await get(emulator.accountSid);
    expect(r.status).toBe(200);
    const body = await r.json();
    responseValidator('api_v2010', PATH, 'get', 200)(body);
    expect(body).toMatchObject({ sid: emulator.accountSid, status: 'active', uri: `/2010-04-01/Accounts/${emulator.accountSid}.json` });
    expect(ops).toContain('FetchAccount');
  });

  it('refuses wrong credentials and another account with 401 / 20003, other methods with 405', async () => {
    for (const r of [await get(emulator.accountSid, emulator.accountSid, 'wrong'), await get(`AC${'0'.repeat(32)}`)]) {
      expect(r.status).toBe(401);
      const body = (await r.json()) as { code: number };
      responseValidator('api_v2010', PATH, 'get', 401)(body);
      expect(body.code).toBe(20003);
    }
    expect((await get(emulator.accountSid, undefined, undefined, 'DELETE')).status).toBe(405);
  });

  it("is what the provider's credentials check calls with the official client", async () => {
    const check = twilioAccountCheck(() => base);
    expect(await check(emulator.accountSid, emulator.authToken)).toEqual({
      sid: emulator.accountSid,
      status: 'active',
      type: 'Full',
      friendlyName: expect.any(String),
      serverDate: expect.any(Date),
    });
    const err = await check(emulator.accountSid, 'nope').catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ httpStatus: 401, providerCode: 20003 });
  });
});
