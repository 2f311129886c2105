// Messages API through the official twilio client: create/fetch/list/update/delete, auth,
// validation codes, magic numbers, segments, prices and paging. Every request and answer is
// checked against the OpenAPI spec (support.ts collects drift).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { api, basicAuth, startEmulator, waitFor, type TestEmulator } from './support.js';

const FROM = '+15005550006';
const TO = '+14155552671';
const SK = 'SK' + 'ab'.repeat(16);

let t: TestEmulator;

beforeAll(async () => {
  t = await startEmulator({ numbers: [FROM, '+14155550100'], apiKeys: [{ sid: SK, secret: 'key-secret' }] });
});
afterAll(() => t.close());
afterEach(() => {
  t.emulator.reset();
  expect(t.drift.splice(0)).toEqual([]);
});

async function twilioError(p: Promise<unknown>): Promise<{ status: number; code: number; message: string }> {
  const e = (await p.then(
    () => {
      throw new Error('expected a Twilio error');
    },
    (err: unknown) => err,
  )) as { status: number; code: number; message: string };
  expect(e).toBeInstanceOf(twilio.RestException);
  return e;
}

describe('create', () => {
  it('answers 201 with the 20 fields of the message resource, typed like Twilio', async () => {
    const m = await t.client.messages.create({ to: TO, from: FROM, body: 'hello' });
    expect(m.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(m.status).toBe('queued');
    expect(m.numSegments).toBe('1');
    expect(m.numMedia).toBe('0');
    expect(m.direction).toBe('outbound-api');
    expect(m.price).toBeNull();
    expect(m.errorCode).toBeNull();
    expect(m.accountSid).toBe(t.emulator.accountSid);
    expect(m.dateCreated).toBeInstanceOf(Date);
    const raw = await api(
      t.base,
      'GET',
      `/2010-04-01/Accounts/${t.emulator.accountSid}/Messages/${m.sid}.json`,
      undefined,
      basicAuth(t.emulator.accountSid, t.emulator.authToken),
    );
    expect(Object.keys(raw.body).sort()).toHaveLength(20);
    expect(raw.body.date_created).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
  });

  it('counts segments: 161 GSM-7 characters and 71 UCS-2 characters are 2 segments each', async () => {
    const gsm = await t.client.messages.create({ to: TO, from: FROM, body: 'a'.repeat(161) });
    const ucs = await t.client.messages.create({ to: TO, from: FROM, body: 'á'.repeat(71) });
    expect(gsm.numSegments).toBe('2');
    expect(ucs.numSegments).toBe('2');
    const [g, u] = [t.emulator.messages().find((m) => m.sid === gsm.sid)!, t.emulator.messages().find((m) => m.sid === ucs.sid)!];
    expect(g.encoding).toBe('GSM-7');
    expect(u.encoding).toBe('UCS-2');
  });

  it('progresses to delivered and fills the price from the rate table × segments', async () => {
    const m = await t.client.messages.create({ to: TO, from: FROM, body: 'a'.repeat(161) });
    const done = await waitFor(() => t.emulator.messages().find((x) => x.sid === m.sid && x.status === 'delivered'));
    expect(done.history.map((h) => h.status)).toEqual(['queued', 'sending', 'sent', 'delivered']);
    const fetched = await t.client.messages(m.sid).fetch();
    expect(fetched.status).toBe('delivered');
    expect(fetched.price).toBe('-0.01580');
    expect(fetched.priceUnit).toBe('USD');
    expect(fetched.dateSent).toBeInstanceOf(Date);
  });

  it('normalises the recipient to E.164 and sends MMS with an MM sid', async () => {
    const m = await t.client.messages.create({ to: '(415) 555-2671', from: FROM, mediaUrl: ['https://example.com/a.png', 'https://example.com/b.jpg'] });
    expect(m.to).toBe(TO);
    expect(m.sid).toMatch(/^MM/);
    expect(m.numMedia).toBe('2');
  });

  it('with a Messaging Service: accepted, num_segments 0, then a pool sender is chosen', async () => {
    const mg = t.emulator.messagingServiceSids[0]!;
    const m = await t.client.messages.create({ to: TO, messagingServiceSid: mg, body: 'hi' });
    expect(m.status).toBe('accepted');
    expect(m.numSegments).toBe('0');
    expect(m.messagingServiceSid).toBe(mg);
    const done = await waitFor(() => t.emulator.messages().find((x) => x.sid === m.sid && x.status === 'delivered'));
    expect([FROM, '+14155550100']).toContain(done.from);
    expect((await t.client.messages(m.sid).fetch()).numSegments).toBe('1');
  });

  it('puts a fixed-line recipient through to undelivered 30006', async () => {
    const m = await t.client.messages.create({ to: '+442071838750', from: FROM, body: 'hi' });
    const done = await waitFor(() => t.emulator.messages().find((x) => x.sid === m.sid && x.status === 'undelivered'));
    expect(done.errorCode).toBe(30006);
    expect(done.price).toBe('-0.05000');
  });
});

describe('authentication', () => {
  it('rejects a wrong token with 401 / 20003', async () => {
    const bad = twilio(t.emulator.accountSid, 'wrong-token', { httpClient: t.client.httpClient });
    const e = await twilioError(bad.messages.create({ to: TO, from: FROM, body: 'x' }));
    expect(e.status).toBe(401);
    expect(e.code).toBe(20003);
  });

  it('accepts an API key pair, and rejects another account in the path', async () => {
    const viaKey = twilio(SK, 'key-secret', { accountSid: t.emulator.accountSid, httpClient: t.client.httpClient });
    const m = await viaKey.messages.create({ to: TO, from: FROM, body: 'via key' });
    expect(m.sid).toMatch(/^SM/);
    const other = twilio('AC' + '9'.repeat(32), 'x', { httpClient: t.client.httpClient });
    const raw = await api(
      t.base,
      'GET',
      `/2010-04-01/Accounts/AC${'9'.repeat(32)}/Messages.json`,
      undefined,
      basicAuth(t.emulator.accountSid, t.emulator.authToken),
    );
    expect(raw.status).toBe(401);
    expect(raw.body.code).toBe(20003);
    const e = await twilioError(other.messages.list({ limit: 1 }));
    expect(e.status).toBe(401);
  });

  it('answers 401 without credentials, with a WWW-Authenticate challenge', async () => {
    const r = await api(t.base, 'GET', `/2010-04-01/Accounts/${t.emulator.accountSid}/Messages.json`);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toContain('Basic');
    expect(r.body).toEqual({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
  });
});

describe('validation errors', () => {
  it('missing To → 21604 (sent raw: the client refuses to)', async () => {
    const r = await api(
      t.base,
      'POST',
      `/2010-04-01/Accounts/${t.emulator.accountSid}/Messages.json`,
      'From=%2B15005550006&Body=x',
      basicAuth(t.emulator.accountSid, t.emulator.authToken),
    );
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 21604, message: "A 'To' phone number is required.", more_info: 'https://www.twilio.com/docs/errors/21604', status: 400 });
    expect(t.drift.splice(0)).toEqual([expect.stringContaining("must have required property 'To'")]);
  });

  const cases: [string, Record<string, unknown>, number][] = [
    ['invalid To', { to: '+1415555', from: FROM, body: 'x' }, 21211],
    ['From not owned', { to: TO, from: '+14155550199', body: 'x' }, 21606],
    ['no From and no Messaging Service', { to: TO, body: 'x' }, 21603],
    ['no Body and no MediaUrl', { to: TO, from: FROM }, 21602],
    ['body over 1600 characters', { to: TO, from: FROM, body: 'a'.repeat(1601) }, 21617],
    ['more than 10 media URLs', { to: TO, from: FROM, mediaUrl: Array.from({ length: 11 }, (_, i) => `https://e.com/${i}.png`) }, 21623],
    ['invalid media URL', { to: TO, from: FROM, mediaUrl: ['ftp://e.com/a.png'] }, 21620],
    ['StatusCallback with an underscore host', { to: TO, from: FROM, body: 'x', statusCallback: 'https://bad_host.example.com/cb' }, 21609],
    ['ValidityPeriod 0', { to: TO, from: FROM, body: 'x', validityPeriod: 0 }, 21624],
    ['ValidityPeriod 36001', { to: TO, from: FROM, body: 'x', validityPeriod: 36001 }, 21624],
    ['unknown Messaging Service', { to: TO, messagingServiceSid: 'MG' + '0'.repeat(32), body: 'x' }, 21701],
    ['same To and From', { to: FROM, from: FROM, body: 'x' }, 21266],
    ['SendAt without a Messaging Service', { to: TO, from: FROM, body: 'x', scheduleType: 'fixed', sendAt: new Date(Date.now() + 3_600_000) }, 35118],
  ];
  for (const [name, params, code] of cases) {
    it(`${name} → ${code}`, async () => {
      const e = await twilioError(t.client.messages.create(params as never));
      expect(e.code).toBe(code);
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(t.emulator.messages()).toHaveLength(0);
    });
  }

  it('scheduling: window and format (35114, 35115), then a scheduled message can be canceled', async () => {
    const mg = t.emulator.messagingServiceSids[0]!;
    const at = (ms: number) => new Date(Date.now() + ms);
    expect((await twilioError(t.client.messages.create({ to: TO, messagingServiceSid: mg, body: 'x', scheduleType: 'fixed', sendAt: at(60_000) }))).code).toBe(
      35115,
    );
    expect(
      (await twilioError(t.client.messages.create({ to: TO, messagingServiceSid: mg, body: 'x', scheduleType: 'fixed', sendAt: at(36 * 86_400_000) }))).code,
    ).toBe(35115);
    expect(
      (await twilioError(t.client.messages.create({ to: TO, messagingServiceSid: mg, body: 'x', scheduleType: 'fixed', sendAt: 'tomorrow' as never }))).code,
    ).toBe(35114);
    // The request validator flags that one too: it is not a date-time.
    expect(t.drift.splice(0)).toEqual([expect.stringContaining('/SendAt must match format "date-time"')]);
    const m = await t.client.messages.create({ to: TO, messagingServiceSid: mg, body: 'later', scheduleType: 'fixed', sendAt: at(3_600_000) });
    expect(m.status).toBe('scheduled');
    expect(m.dateSent).toBeNull();
    const canceled = await t.client.messages(m.sid).update({ status: 'canceled' });
    expect(canceled.status).toBe('canceled');
    const again = await twilioError(t.client.messages(m.sid).update({ status: 'canceled' }));
    expect(again.code).toBe(30409);
  });
});

describe('magic test numbers (docs/twilio-reference.md §10)', () => {
  const from: [string, number][] = [
    ['+15005550001', 21212],
    ['+15005550007', 21606],
    ['+15005550008', 21611],
    ['+15005550002', 21606],
  ];
  for (const [number, code] of from) {
    it(`From ${number} → ${code}`, async () => {
      expect((await twilioError(t.client.messages.create({ to: TO, from: number, body: 'x' }))).code).toBe(code);
    });
  }
  const to: [string, number][] = [
    ['+15005550001', 21211],
    ['+15005550002', 21612],
    ['+15005550003', 21408],
    ['+15005550004', 21610],
    ['+15005550009', 21614],
  ];
  for (const [number, code] of to) {
    it(`To ${number} → ${code}`, async () => {
      expect((await twilioError(t.client.messages.create({ to: number, from: FROM, body: 'x' }))).code).toBe(code);
    });
  }
  it('From +15005550006 passes even when it is not among the owned numbers', async () => {
    const other = await startEmulator({ numbers: ['+14155550100'] });
    try {
      expect((await other.client.messages.create({ to: TO, from: FROM, body: 'x' })).status).toBe('queued');
    } finally {
      await other.close();
    }
  });
});

describe('fetch, list, update, delete', () => {
  it('fetch of an unknown sid is 404 / 20404', async () => {
    const e = await twilioError(t.client.messages('SM' + '0'.repeat(32)).fetch());
    expect(e.status).toBe(404);
    expect(e.code).toBe(20404);
  });

  it('lists newest first, filters by To/From/DateSent and pages with next_page_uri', async () => {
    for (let i = 0; i < 7; i++) await t.client.messages.create({ to: TO, from: FROM, body: `m${i}` });
    await t.client.messages.create({ to: '+14155552672', from: FROM, body: 'other' });
    const page = await t.client.messages.page({ to: TO, pageSize: 3 });
    expect(page.instances.map((m) => m.body)).toEqual(['m6', 'm5', 'm4']);
    const all = await t.client.messages.list({ to: TO, pageSize: 3 });
    expect(all.map((m) => m.body)).toEqual(['m6', 'm5', 'm4', 'm3', 'm2', 'm1', 'm0']);
    const next = await page.nextPage();
    expect(next!.instances.map((m) => m.body)).toEqual(['m3', 'm2', 'm1']);
    const prev = await next!.previousPage();
    expect(prev!.instances.map((m) => m.body)).toEqual(['m6', 'm5', 'm4']);
    expect(await t.client.messages.list({ from: FROM, to: '+14155552672' })).toHaveLength(1);
    const today = new Date();
    expect(await t.client.messages.list({ to: TO, dateSentAfter: new Date(today.getTime() - 60_000) })).toHaveLength(7);
    expect(await t.client.messages.list({ to: TO, dateSentBefore: new Date(today.getTime() - 86_400_000) })).toHaveLength(0);
    const day = today.toISOString().slice(0, 10);
    const raw = await api(
      t.base,
      'GET',
      `/2010-04-01/Accounts/${t.emulator.accountSid}/Messages.json?DateSent=${day}&PageSize=2`,
      undefined,
      basicAuth(t.emulator.accountSid, t.emulator.authToken),
    );
    expect(raw.body.messages).toHaveLength(2);
    expect(raw.body.next_page_uri).toContain('PageToken=PA');
    expect(raw.body.first_page_uri).toBe(`/2010-04-01/Accounts/${t.emulator.accountSid}/Messages.json?DateSent=${day}&PageSize=2&Page=0`);
  });

  it('redacts a body, refuses to delete an unfinished message (20009), deletes a finished one (204)', async () => {
    const m = await t.client.messages.create({ to: TO, from: FROM, body: 'secret' });
    expect((await twilioError(t.client.messages(m.sid).remove())).code).toBe(20009);
    const redacted = await t.client.messages(m.sid).update({ body: '' });
    expect(redacted.body).toBe('');
    await waitFor(() => t.emulator.messages().find((x) => x.sid === m.sid && x.status === 'delivered'));
    expect(await t.client.messages(m.sid).remove()).toBe(true);
    expect((await twilioError(t.client.messages(m.sid).fetch())).code).toBe(20404);
    expect(t.emulator.createCount(TO, 'secret')).toBe(1);
  });

  it('update with neither or both parameters → 30400', async () => {
    const m = await t.client.messages.create({ to: TO, from: FROM, body: 'x' });
    const r = await api(
      t.base,
      'POST',
      `/2010-04-01/Accounts/${t.emulator.accountSid}/Messages/${m.sid}.json`,
      'Body=&Status=canceled',
      basicAuth(t.emulator.accountSid, t.emulator.authToken),
    );
    expect(r.status).toBe(400);
    expect(r.body.code).toBe(30400);
  });
});

describe('counts and the ring buffer', () => {
  it('createCount counts creates per recipient and body', async () => {
    await t.client.messages.create({ to: TO, from: FROM, body: 'one' });
    await t.client.messages.create({ to: TO, from: FROM, body: 'one' });
    await t.client.messages.create({ to: TO, from: FROM, body: 'two' });
    expect(t.emulator.createCount(TO)).toBe(3);
    expect(t.emulator.createCount(TO, 'one')).toBe(2);
    const r = await api(t.base, 'GET', `/emulator/api/counts?to=${encodeURIComponent(TO)}&body=two`);
    expect(r.body).toEqual({ to: TO, body: 'two', count: 1 });
  });

  it('keeps at most maxMessages, evicting the oldest and its SID index entry', async () => {
    const small = await startEmulator({ maxMessages: 20 });
    try {
      const sids: string[] = [];
      for (let i = 0; i < 30; i++) sids.push((await small.client.messages.create({ to: TO, from: FROM, body: `n${i}` })).sid);
      const kept = small.emulator.messages();
      expect(kept).toHaveLength(20);
      expect(kept[0]!.body).toBe('n10');
      expect((await twilioError(small.client.messages(sids[0]!).fetch())).code).toBe(20404);
      expect((await small.client.messages(sids[29]!).fetch()).body).toBe('n29');
      expect(small.drift).toEqual([]);
    } finally {
      await small.close();
    }
  });
});
