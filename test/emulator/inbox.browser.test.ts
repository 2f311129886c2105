// The web inbox in a real browser (Debian's chromium through playwright-core): a handset texts the
// relay's number from the page, the relay answers the signed inbound webhook with its auto-reply
// TwiML, and the reply shows up in the handset's thread.
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { startRelay, type TestRelay } from '../support/relay.js';

const OWNED = '+15005550006';
const HANDSET = '+14155552671';
const AUTO_REPLY = "Thanks for your message, we'll get back to you soon";

let t: TestRelay;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  t = await startRelay(backends[0]!, 'inbox-browser', { inbound: { autoReply: AUTO_REPLY, keywordReplies: 'provider' } });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
}, 60_000);

afterAll(async () => {
  // The browser goes first: polling against a closed relay would log connection errors.
  await browser?.close();
  await t?.close();
});

describe('web inbox', () => {
  it('texts the relay as a handset and shows the auto-reply in the thread', async () => {
    const res = await page.goto(`${t.url}/emulator`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'none'");

    // The owned number's page opens by default.
    await expect.poll(() => page.getByTestId('page-title').textContent(), { timeout: 10_000 }).toBe(OWNED);
    await page.getByTestId('compose-from').fill(HANDSET);
    expect(await page.getByTestId('compose-to').inputValue()).toBe(OWNED);
    await page.getByTestId('compose-body').fill('Hello from the browser');
    await page.getByTestId('compose-send').click();

    // The handset's message, then the relay's TwiML auto-reply, in the thread with that handset.
    const thread = page.getByTestId('messages');
    const sent = thread.locator('[data-testid="bubble"][data-direction="inbound"]', { hasText: 'Hello from the browser' });
    const reply = thread.locator('[data-testid="bubble"][data-source="twiml"]', { hasText: AUTO_REPLY });
    await sent.waitFor({ timeout: 20_000 });
    await reply.waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('phone-peer').textContent()).toBe(HANDSET);
    await expect.poll(() => page.getByTestId('compose-status').textContent()).toMatch(/webhook 200/);

    // Status ticks and segments on the bubbles; the inbound webhook's response code.
    expect(await sent.getByTestId('bubble-status').textContent()).toMatch(/^Received/);
    expect(await sent.getByTestId('bubble-segments').textContent()).toBe('1 segment · GSM-7');
    expect(await sent.getByTestId('bubble-webhook').first().textContent()).toBe('webhook 200');
    await expect.poll(() => reply.getAttribute('data-status'), { timeout: 10_000 }).toBe('delivered');
    expect(await reply.getByTestId('bubble-status').textContent()).toMatch(/^Delivered \d\d:\d\d:\d\d$/);
    expect(await reply.getByTestId('bubble-segments').textContent()).toBe('1 segment · GSM-7');

    // The inspector shows the reply's status history.
    await reply.click();
    await expect
      .poll(() => page.getByTestId('inspector-history').locator('li').allTextContents())
      .toEqual([expect.stringMatching(/^queued/), expect.stringMatching(/^sending/), expect.stringMatching(/^sent/), expect.stringMatching(/^delivered/)]);
    expect(await page.getByTestId('inspector-status').textContent()).toBe('Delivered');

    // The same thread seen from the handset's page, the handset's own message on its side.
    await page.getByTestId('nav-handset').filter({ hasText: HANDSET }).click();
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(HANDSET);
    await page.locator('[data-testid="bubble"][data-source="twiml"]', { hasText: AUTO_REPLY }).waitFor({ timeout: 10_000 });
    expect(await page.locator('.msg.mine', { hasText: 'Hello from the browser' }).count()).toBe(1);

    mkdirSync('test-results', { recursive: true });
    await page.getByTestId('nav-number').filter({ hasText: OWNED }).click();
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(OWNED);
    await reply.waitFor({ timeout: 10_000 });
    await reply.click();
    await page.screenshot({ path: 'test-results/emulator-inbox.png' });

    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it('renders untrusted bodies as text', async () => {
    const evil = '<img src=x onerror="window.__pwned=1"><b>bold</b>';
    await page.getByTestId('compose-from').fill('+14155552672');
    await page.getByTestId('compose-body').fill(evil);
    await page.getByTestId('compose-body').press('Enter');
    const bubble = page.getByTestId('messages').locator('[data-testid="bubble"][data-direction="inbound"]').filter({ hasText: 'onerror' });
    await bubble.waitFor({ timeout: 20_000 });
    expect(await bubble.getByTestId('bubble-body').textContent()).toBe(evil);
    expect(await bubble.locator('img, b').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it('edits chaos settings through the panel', async () => {
    await page.getByTestId('tab-chaos').click();
    const panel = page.getByTestId('chaos-panel');
    await panel.getByLabel('latency ms').fill('25');
    await panel.getByTestId('chaos-add-rule').click();
    await panel.getByTestId('chaos-apply').click();
    await expect.poll(() => panel.getByTestId('chaos-message').textContent(), { timeout: 3000 }).toBe('Applied.');
    const chaos = (await (await fetch(`${t.url}/emulator/api/chaos`)).json()) as { latencyMs: number; errors: Record<string, unknown> };
    expect(chaos.latencyMs).toBe(25);
    expect(chaos.errors['messages.create']).toEqual({ rate: 1, status: 500, code: 20500 });
    await expect.poll(() => page.getByTestId('chaos-badge').isVisible()).toBe(true);

    await panel.getByTestId('chaos-clear').click();
    await expect.poll(() => panel.getByTestId('chaos-message').textContent()).toBe('Defaults restored.');
    await expect.poll(() => page.getByTestId('chaos-badge').isVisible()).toBe(false);
    expect(consoleErrors).toEqual([]);
  }, 60_000);
});
