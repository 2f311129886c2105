import { describe, expect, it } from 'vitest';
import { clockSkewMs, clockSkewOk, isLoopbackHost, publicUrlProblem, webhookUrls } from './wiring.js';

describe('public URL rules', () => {
  it('accepts https anywhere and http on loopback only', () => {
    expect(publicUrlProblem('https://sms.example.com')).toBeNull();
    expect(publicUrlProblem('https://example.com/relay')).toBeNull();
    expect(publicUrlProblem('http://127.0.0.1:3000')).toBeNull();
    expect(publicUrlProblem('http://localhost:3000')).toBeNull();
    expect(publicUrlProblem('http://[::1]:3000')).toBeNull();
    expect(publicUrlProblem('http://sms.example.com')).toMatch(/https outside loopback/);
    expect(publicUrlProblem('http://10.0.0.5:3000')).toMatch(/https outside loopback/);
    expect(publicUrlProblem('http://127.example.com')).toMatch(/https outside loopback/);
  });

  it('rejects missing, malformed, other schemes, queries, fragments and credentials', () => {
    expect(publicUrlProblem(null)).toMatch(/not set/);
    expect(publicUrlProblem(' ')).toMatch(/not set/);
    expect(publicUrlProblem('sms.example.com')).toMatch(/not a URL/);
    expect(publicUrlProblem('ftp://sms.example.com')).toMatch(/https/);
    expect(publicUrlProblem('https://sms.example.com/?a=1')).toMatch(/no query/);
    expect(publicUrlProblem('https://sms.example.com/#x')).toMatch(/fragment/);
    expect(publicUrlProblem('https://u:p@sms.example.com')).toMatch(/credentials/);
  });

  it('builds the webhook URLs under the public URL, path prefix kept', () => {
    expect(webhookUrls('https://example.com/relay/')).toEqual({
      inbound: 'https://example.com/relay/webhooks/twilio/inbound',
      status: 'https://example.com/relay/webhooks/twilio/status',
    });
  });

  it('loopback hosts', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', 'example.com', '::'].some(isLoopbackHost)).toBe(false);
  });
});

describe('clock skew', () => {
  it('is within a minute either way', () => {
    const remote = new Date('2026-01-01T00:00:00Z');
    expect(clockSkewOk(clockSkewMs(new Date('2026-01-01T00:00:59Z'), remote))).toBe(true);
    expect(clockSkewOk(clockSkewMs(new Date('2025-12-31T23:59:01Z'), remote))).toBe(true);
    expect(clockSkewOk(clockSkewMs(new Date('2026-01-01T00:01:01Z'), remote))).toBe(false);
    expect(clockSkewMs(new Date('2025-12-31T23:58:00Z'), remote)).toBe(-120_000);
  });
});
