// The admin console in a real browser (Debian's chromium through playwright-core) against a real
// relay and its embedded emulator: sign in, send and watch delivery, reply in a conversation, opt a
// number out and see a send refused, create and preview a template, change the daily cap and see the
// gauge, sign out. Every page: a screenshot in test-results/ and an axe-core check (no serious or
// critical violation). Console errors (a CSP violation among them) fail the test.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { backends } from './support/backends.js';
import { sqlOf } from './support/db.js';
import { startRelay, type TestRelay } from './support/relay.js';

const OWNED = '+15005550006';
const HANDSET = '+14155552671';
const SHOTS = 'test-results/console';
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let t: TestRelay;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const consoleErrors: string[] = [];

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
}

/** Screenshot + axe-core: returns the serious and critical violations (expected to be none). */
async function check(name: string, p: Page = page): Promise<void> {
  await p.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  // Evaluated through the DevTools protocol, so the page's CSP (no inline script) does not block it.
  await p.evaluate(AXE);
  const r = (await p.evaluate(() => (globalThis as unknown as { axe: { run(): Promise<unknown> } }).axe.run())) as AxeResult;
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map((v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`),
    name,
  ).toEqual([]);
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // The usage rollup counts every 100 ms, so the dashboard shows the test's own messages.
  t = await startRelay(backends[0]!, 'console-browser', { data: { ...loadConfig({}).data, usageIntervalMs: 100 } });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => {
    // An API's 4xx answer is logged by the browser itself; the pages show those errors.
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('admin console', () => {
  it('signs in with an API key; the key is in no storage and no URL', async () => {
    const res = await page.goto(`${t.url}/admin`);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.getByTestId('signin-form').waitFor();
    await check('signin');
    await page.getByTestId('signin-key').fill('smsr_not_a_key');
    await page.getByTestId('signin-submit').click();
    await expect.poll(() => page.getByTestId('signin-status').textContent()).toContain('SMS_ERR_UNAUTHENTICATED');

    await page.getByTestId('signin-key').fill(t.apiKey);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('stat-sent').waitFor();
    expect(page.url()).not.toContain(t.apiKey);
    const storage = (await page.evaluate('JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie])')) as string;
    expect(storage).not.toContain(t.apiKey);
    // HttpOnly: the page's script cannot read the session cookie.
    expect(storage).not.toContain('smsrelay_session');
    const cookie = (await context.cookies()).find((c) => c.name === 'smsrelay_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    await check('dashboard');
  });

  it('sends from the UI and watches the status reach delivered', async () => {
    await page.getByTestId('nav-messages').click();
    await page.getByTestId('send-to').fill(HANDSET);
    await page.getByTestId('send-body').fill('Hello from the console ✓');
    expect(await page.getByTestId('send-counter').textContent()).toBe('24 characters · 1 segment · UCS-2');
    await page.getByTestId('send-submit').click();
    await page.getByTestId('sent-link').click();
    await expect.poll(() => page.getByTestId('status').first().textContent(), { timeout: 20_000 }).toBe('delivered');
    expect(await page.getByTestId('timeline').locator('li').count()).toBeGreaterThan(1);
    await check('message-detail');
    await page.getByTestId('nav-messages').click();
    await page.getByTestId('message-row').first().waitFor();
    await check('messages');
    // Filters: received only (none yet), then delivered (the one just sent).
    await page.getByTestId('filters').getByLabel('Status').selectOption('received');
    await page.getByTestId('filters').getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.getByTestId('message-row').count()).toBe(0);
    await page.getByTestId('filters').getByLabel('Status').selectOption('delivered');
    await page.getByTestId('filters').getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.getByTestId('message-row').getByTestId('status').allTextContents()).toEqual(['delivered']);
    // Category and template: none of this tenant's messages is marketing or from a template yet.
    await page.getByTestId('filters').getByLabel('Status').selectOption('');
    await page.getByTestId('filters').getByLabel('Category').selectOption('marketing');
    await page.getByTestId('filters').getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.getByTestId('message-row').count()).toBe(0);
    await page.getByTestId('filters').getByLabel('Category').selectOption('transactional');
    await page.getByTestId('filters').getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.getByTestId('message-row').count()).toBe(1);
    // The export carries the same filters: the header and the one transactional message.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('messages-export').click()]);
    expect(download.suggestedFilename()).toBe('messages.csv');
    const csv = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\r\n');
    expect(csv[0]).toMatch(/^id,created_at,/);
    expect(csv).toHaveLength(2);
    expect(csv[1]).toContain(HANDSET);
    expect(csv[1]).toContain('Hello from the console ✓');
    await page.getByTestId('filters').getByLabel('Template').fill('welcome');
    await page.getByTestId('filters').getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.getByTestId('message-row').count()).toBe(0);
    await page.getByTestId('filters').getByLabel('Template').fill('');
    await page.getByTestId('filters').getByLabel('Category').selectOption('');
    await page.getByTestId('filters').getByRole('button', { name: 'Filter' }).click();
  });

  it('replies in a conversation, with the live segment counter', async () => {
    // A handset texts the relay's number (through the emulator), which opens a conversation.
    const r = await fetch(`${t.url}/emulator/api/handsets/${encodeURIComponent(HANDSET)}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: OWNED, body: 'Is my order on its way?' }),
    });
    expect(r.status).toBeLessThan(300);
    await page.getByTestId('nav-conversations').click();
    const conv = page.getByTestId('conversation').first();
    await conv.waitFor({ timeout: 10_000 });
    expect(await conv.getByTestId('unread').textContent()).toBe('1');
    await conv.click();
    await page.getByTestId('bubble').filter({ hasText: 'Is my order on its way?' }).waitFor();
    await page.getByTestId('reply-body').fill('Yes, it ships today');
    expect(await page.getByTestId('reply-counter').textContent()).toBe('19 characters · 1 segment · GSM-7');
    await page.getByTestId('reply-send').click();
    await page.getByTestId('bubble').filter({ hasText: 'Yes, it ships today' }).waitFor({ timeout: 10_000 });
    await check('conversations');
  });

  it('opts a number out and a send to it is refused', async () => {
    await page.getByTestId('nav-contacts').click();
    await page.getByTestId('lookup-phone').fill('+14155550199');
    await page.getByTestId('lookup-form').getByRole('button').click();
    await page.getByTestId('consent-reason').fill('asked by phone');
    await page.getByTestId('opt-out').click();
    await expect.poll(() => page.getByTestId('consent-state').textContent()).toContain('opted out');
    await expect.poll(() => page.getByTestId('optouts').textContent()).toContain('+14155550199');
    await check('contacts');

    await page.getByTestId('nav-messages').click();
    await page.getByTestId('send-to').fill('+14155550199');
    await page.getByTestId('send-body').fill('Any news?');
    await page.getByTestId('send-submit').click();
    await expect.poll(() => page.getByTestId('send-status').textContent()).toContain('SMS_ERR_RECIPIENT_OPTED_OUT');
  });

  it('creates a template and previews it', async () => {
    await page.getByTestId('nav-templates').click();
    await page.getByTestId('tpl-name').fill('welcome');
    await page.getByTestId('tpl-source').fill('Hola {{ name }}, tu código es {{ code }}');
    await page.getByTestId('tpl-save').click();
    await page.getByTestId('preview-form').waitFor();
    await page.getByTestId('preview-vars').fill('{"name": "Ana", "code": "4321"}');
    await page.getByTestId('preview-run').click();
    await expect.poll(() => page.getByTestId('preview-text').textContent()).toBe('Hola Ana, tu código es 4321');
    expect(await page.getByTestId('preview-segments').textContent()).toMatch(/^1 segment · (GSM-7|UCS-2)/);
    expect(await page.getByTestId('tpl-versions').locator('li').count()).toBe(1);
    await check('templates');
  });

  it('uploads a CSV campaign, shows the estimate, starts, pauses, resumes, completes and exports', async () => {
    const valid = Array.from({ length: 12 }, (_, i) => `+1415555${String(2600 + i)}`);
    // 12 valid numbers, one of them twice, a bad row, and the number opted out above.
    const csv = ['phone', ...valid, valid[3], '12', '+14155550199', ''].join('\n');
    await page.getByTestId('nav-campaigns').click();
    await page.getByTestId('camp-name').fill('Spring notice');
    await page.getByTestId('camp-category').selectOption('transactional');
    await page.getByTestId('camp-body').fill('Our office is closed on Friday.');
    await page.getByTestId('camp-rate').fill('3');
    await page.getByTestId('camp-csv').setInputFiles({ name: 'audience.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await check('campaigns');
    await page.getByTestId('camp-create').click();
    // The campaign's page: the estimate before anything is sent.
    await page.getByTestId('camp-estimate').locator('dl').waitFor();
    const estimate = await page.getByTestId('camp-estimate').textContent();
    expect(estimate).toContain('Valid recipients12');
    expect(estimate).toContain('Invalid rows1');
    expect(estimate).toContain('Duplicates dropped1');
    expect(estimate).toContain('Opted out (suppressed)1');
    expect(await page.getByTestId('camp-state').textContent()).toBe('draft');
    await check('campaign-draft');

    await page.getByTestId('camp-start').click();
    await expect.poll(() => page.getByTestId('camp-state').textContent()).toBe('running');
    const sent = async () => {
      const v = await Promise.all(['sent', 'delivered', 'failed'].map(async (s) => Number(await page.getByTestId(`bar-${s}`).getAttribute('value'))));
      return v.reduce((a, b) => a + b, 0);
    };
    await expect.poll(sent, { timeout: 10_000 }).toBeGreaterThan(0);
    await page.getByTestId('camp-pause').click();
    await expect.poll(() => page.getByTestId('camp-state').textContent()).toBe('paused');
    // Paused: nothing more reaches the provider (counts settle, then stay).
    await new Promise((r) => setTimeout(r, 1_500));
    const atProvider = async () => ((await (await fetch(`${t.url}/emulator/api/messages`)).json()) as { messages: unknown[] }).messages.length;
    const atPause = await atProvider();
    expect(atPause).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await atProvider()).toBe(atPause);
    expect(Number(await page.getByTestId('bar-pending').getAttribute('value'))).toBeGreaterThan(0);
    await check('campaign-paused');

    await page.getByTestId('camp-resume').click();
    await expect.poll(() => page.getByTestId('camp-state').textContent(), { timeout: 20_000 }).toBe('completed');
    await expect.poll(() => page.getByTestId('bar-delivered').getAttribute('value'), { timeout: 10_000 }).toBe('12');
    expect(await page.getByTestId('bar-suppressed').getAttribute('value')).toBe('1');
    expect(await page.getByTestId('bar-invalid').getAttribute('value')).toBe('1');
    await check('campaign-completed');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('camp-export').click()]);
    const exported = readFileSync((await download.path())!, 'utf8');
    expect(exported.split('\n')[0]).toContain('phone');
    for (const n of valid) expect(exported).toContain(n);
    // Its messages: the messages list filtered to the campaign.
    await page.getByTestId('camp-messages').click();
    await expect.poll(() => page.getByTestId('message-row').count()).toBe(12);
    expect(await page.getByTestId('filter-campaign').inputValue()).not.toBe('');
  });

  it('changes the daily cap and the dashboard gauge shows it', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('daily-cap').fill('5');
    await page.getByTestId('policy-save').click();
    await expect.poll(() => page.getByTestId('policy-status').textContent()).toBe('Saved.');
    // The rest of the policy as JSON: a bad value is refused with the field named, and nothing saved.
    await page.getByTestId('policy-json').fill('{"over_limit": {"marketing": "explode"}, "sender_rates": {"+15005550006": 2}}');
    await page.getByTestId('policy-json-form').getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByTestId('policy-json-form').getByRole('status').textContent()).toMatch(/over_limit.*SMS_ERR_VALIDATION/);
    expect((await t.api('/v1/settings')).body.sender_rates).toEqual({});
    await check('settings');
    await page.getByTestId('nav-dashboard').click();
    await expect.poll(() => page.getByTestId('cap-text').textContent()).toMatch(/^\d+ of 5 today/);
    // The message sent from the Messages page and the reply, both delivered today.
    expect(Number(await page.getByTestId('stat-delivered').locator('b').textContent())).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('stat-rate').locator('b').textContent()).toBe('100.0 %');
    // Live: a message sent meanwhile shows up without leaving the page (event stream, then a redraw).
    const delivered = async () => Number(await page.getByTestId('stat-delivered').locator('b').textContent());
    const before = await delivered();
    expect((await t.api('/v1/messages', { body: { to: HANDSET, body: 'Live update' } })).status).toBe(202);
    await expect.poll(delivered, { timeout: 8_000 }).toBe(before + 1);
    expect(await page.getByTestId('cap-meter').getAttribute('max')).toBe('5');
    // This tenant's outbox: everything was delivered, nothing waits.
    expect(await page.getByTestId('stat-outbox').locator('b').textContent()).toBe('0');
    expect(await page.getByTestId('stat-outbox-age').locator('b').textContent()).toBe('—');
  });

  it('sets quiet hours and keywords with their forms', async () => {
    const before = (await t.api('/v1/settings')).body;
    await page.getByTestId('nav-settings').click();
    // Defaults: marketing 08:00–21:00 with state rules, transactional without a window.
    expect(await page.getByTestId('quiet-marketing-on').isChecked()).toBe(true);
    expect(await page.getByTestId('quiet-marketing-start').inputValue()).toBe('08:00');
    expect(await page.getByTestId('quiet-transactional-on').isChecked()).toBe(false);
    expect(await page.getByTestId('quiet-transactional-start').isDisabled()).toBe(true);
    await page.getByTestId('quiet-transactional-on').check();
    await page.getByTestId('quiet-transactional-start').fill('07:30');
    await page.getByTestId('quiet-transactional-end').fill('22:00');
    await page.getByTestId('quiet-marketing-state').uncheck();
    await page.getByTestId('quiet-save').click();
    await expect.poll(() => page.getByTestId('quiet-status').textContent()).toBe('Saved.');
    expect((await t.api('/v1/settings')).body.quiet_hours).toEqual({
      transactional: { start: '07:30', end: '22:00', state_rules: false },
      marketing: { start: '08:00', end: '21:00', state_rules: false },
    });
    // A window whose end equals its start is refused with the field named, and nothing is saved.
    await page.getByTestId('quiet-transactional-end').fill('07:30');
    await page.getByTestId('quiet-save').click();
    await expect.poll(() => page.getByTestId('quiet-status').textContent()).toMatch(/SMS_ERR_VALIDATION/);
    expect((await t.api('/v1/settings')).body.quiet_hours.transactional.end).toBe('22:00');
    await page.getByTestId('quiet-transactional-on').uncheck();
    await page.getByTestId('quiet-save').click();
    await expect.poll(() => page.getByTestId('quiet-status').textContent()).toBe('Saved.');
    expect((await t.api('/v1/settings')).body.quiet_hours.transactional).toBeNull();

    expect(await page.getByTestId('keywords-opt_out').inputValue()).toMatch(/^STOP, /);
    await page.getByTestId('keywords-opt_out').fill('STOP, BAJA, ALTO');
    await page.getByTestId('reply-help').fill('Ayuda: responde BAJA para no recibir más.');
    await page.getByTestId('keyword-replies').selectOption('relay');
    await page.getByTestId('keywords-save').click();
    await expect.poll(() => page.getByTestId('keywords-status').textContent()).toBe('Saved.');
    const saved = (await t.api('/v1/settings')).body;
    expect(saved.keywords.opt_out).toEqual(['STOP', 'BAJA', 'ALTO']);
    expect(saved.replies.help).toBe('Ayuda: responde BAJA para no recibir más.');
    expect(saved.keyword_replies).toBe('relay');
    await check('settings-forms');
    // Back to the defaults for the tests that follow.
    const { keywords, replies, keyword_replies, quiet_hours } = before;
    expect((await t.api('/v1/settings', { method: 'PATCH', body: { keywords, replies, keyword_replies, quiet_hours } })).status).toBe(200);
  });

  it('shows verification conversion by country and prefix, and the blocked prefixes', async () => {
    const tenant = t.relay.defaultTenant.id;
    const now = Date.now();
    const row = (i: number, to: string, country: string, prefix: string, approved: boolean) => ({
      id: `v-console-${i}`,
      tenant_id: tenant,
      backend: 'local',
      to_addr: to,
      channel: 'sms',
      country,
      prefix,
      locale: 'en',
      code_length: 6,
      code_hash: null,
      provider_sid: null,
      message_id: null,
      attempts: 0,
      send_count: 1,
      status: approved ? 'approved' : 'pending',
      expires_at: now + 600_000,
      created_at: now - 3_600_000 - i,
      updated_at: now,
      approved_at: approved ? now : null,
    });
    // US: 3 started, 2 approved; GB: 1 started, none approved.
    await sqlOf(t.relay)
      .insertInto('verifications')
      .values([
        row(1, '+14155550701', 'US', '+1415555', true),
        row(2, '+14155550702', 'US', '+1415555', true),
        row(3, '+12125550703', 'US', '+1212555', false),
        row(4, '+447700900704', 'GB', '+447700', false),
      ])
      .execute();
    await sqlOf(t.relay)
      .insertInto('verify_blocked_prefixes')
      .values({ tenant_id: tenant, prefix: '+882355', blocked_until: now + 3_600_000, started: 40, approved: 1, created_at: now - 60_000 })
      .execute();

    await page.getByTestId('nav-verifications').click();
    await page.getByTestId('verify-countries').waitFor();
    expect(await page.getByTestId('verify-started').locator('b').textContent()).toBe('4');
    expect(await page.getByTestId('verify-conversion').locator('b').textContent()).toBe('50.0 %');
    const rows = async (testid: string) =>
      page
        .getByTestId(testid)
        .locator('tbody tr')
        .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(await rows('verify-countries')).toEqual([
      ['US', '3', '2', '66.7 %'],
      ['GB', '1', '0', '0.0 %'],
    ]);
    expect(await rows('verify-prefixes')).toEqual(
      expect.arrayContaining([
        ['+1415555', 'US', '2', '2', '100.0 %'],
        ['+447700', 'GB', '1', '0', '0.0 %'],
      ]),
    );
    const blocked = await rows('verify-blocked');
    expect(blocked.map((r) => [r[0], r[3], r[4]])).toEqual([['+882355', '40', '1']]);
    await check('verifications');
    // The last 24 hours hold all of them too; the period is the API's since/until.
    await page.getByTestId('verify-period').selectOption('1');
    await expect.poll(() => page.getByTestId('verify-started').locator('b').textContent()).toBe('4');
  });

  it('works at phone width: every page fits without horizontal scrolling', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    for (const name of ['dashboard', 'messages', 'conversations', 'contacts', 'templates', 'campaigns', 'verifications', 'settings']) {
      await phone.goto(`${t.url}/admin#/${name}`);
      await phone.locator('#main h1').waitFor();
      await phone.locator('#main >> text=Loading…').waitFor({ state: 'detached' });
      const overflow = (await phone.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
      expect(overflow, name).toBeLessThanOrEqual(0);
      await check(`${name}-phone`, phone);
    }
    await phone.close();
  });

  it('a platform admin switches tenant and sees only that tenant’s data', async () => {
    const acme = await t.relay.tenants.create({ slug: 'acme', name: 'Acme' });
    const { key } = await t.relay.apiKeys.create(t.relay.defaultTenant.id, 'platform', ['admin', 'tenants:admin']);
    const made = await t.api('/v1/templates', { key, headers: { 'smsrelay-tenant': 'acme' }, body: { name: 'acme-only', locales: { en: 'Hi from Acme' } } });
    expect(made.status).toBe(201);
    expect(acme.slug).toBe('acme');

    const admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await admin.newPage();
    await p.goto(`${t.url}/admin`);
    await p.getByTestId('signin-key').fill(key);
    await p.getByTestId('signin-submit').click();
    await p.getByTestId('stat-sent').waitFor();
    await p.getByTestId('nav-templates').click();
    await p.getByTestId('tpl-list').waitFor();
    expect(await p.getByTestId('tpl-list').textContent()).not.toContain('acme-only');
    await p.getByTestId('tenant-switch').selectOption('acme');
    await expect.poll(() => p.getByTestId('tpl-list').textContent()).toContain('acme-only');
    expect(await p.getByTestId('tpl-list').textContent()).not.toContain('welcome');
    await check('tenant-switch', p);
    await p.getByTestId('tenant-switch').selectOption(t.relay.defaultTenant.slug);
    await expect.poll(() => p.getByTestId('tpl-list').textContent()).toContain('welcome');
    await admin.close();
  });

  it('signs out: the cookie no longer works', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'smsrelay_session')!;
    await page.getByTestId('signout').click();
    await page.getByTestId('signin-form').waitFor();
    const r = await fetch(`${t.url}/v1/messages`, { headers: { cookie: `smsrelay_session=${cookie.value}` } });
    expect(r.status).toBe(401);
    expect(consoleErrors).toEqual([]);
  });
});
