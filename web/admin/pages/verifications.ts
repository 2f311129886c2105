// Verifications: conversion (approved / started) by country and by number prefix over a period, and
// the prefixes paused by the automatic block (their conversion collapsed), from GET /v1/verifications/stats.
import { api, errorText } from '../api.js';
import { dataTable, field, fill, fmtNumber, fmtPercent, fmtTime, h, options } from '../../lib/dom.js';

const PERIODS: Record<string, number> = { '1': 1, '7': 7, '30': 30 };
const DAY_MS = 86_400_000;

interface Conversion {
  started?: number;
  approved?: number;
  conversion?: number | null;
}

function table(caption: string, testid: string, heads: string[], rows: (string | number)[][]): HTMLElement {
  return dataTable(
    heads,
    rows.length
      ? rows.map((r) =>
          h(
            'tr',
            null,
            r.map((c) => h('td', { text: String(c) })),
          ),
        )
      : [h('tr', null, h('td', { colspan: String(heads.length), class: 'muted', text: 'None in this period.' }))],
    // Focusable: at phone width the table scrolls sideways, by keyboard too.
    { testid, caption: h('caption', { text: caption }), wrap: { tabindex: '0', role: 'region', 'aria-label': caption } },
  );
}

const counts = (c: Conversion): string[] => [fmtNumber(c.started ?? 0), fmtNumber(c.approved ?? 0), fmtPercent(c.conversion)];

export async function verificationsPage(main: HTMLElement): Promise<undefined> {
  const period = h(
    'select',
    { name: 'period', testid: 'verify-period' },
    options(Object.keys(PERIODS), '7', { '1': 'Last 24 hours', '7': 'Last 7 days', '30': 'Last 30 days' }),
  );
  const out = h('div', { 'aria-live': 'polite' });
  const note = h('p', { role: 'status', class: 'muted' });

  async function load(): Promise<void> {
    const until = new Date();
    const since = new Date(until.getTime() - PERIODS[period.value]! * DAY_MS);
    const r = await api.GET('/v1/verifications/stats', { params: { query: { since: since.toISOString(), until: until.toISOString() } } });
    if (r.error || !r.data) {
      note.textContent = errorText(r.error);
      return;
    }
    note.textContent = '';
    const s = r.data;
    fill(
      out,
      h(
        'section',
        { class: 'stats', 'aria-label': 'All verifications in the period' },
        h(
          'div',
          { class: 'stat', testid: 'verify-started' },
          h('span', { class: 'stat-label', text: 'Started' }),
          h('b', { class: 'stat-value', text: fmtNumber(s.total?.started ?? 0) }),
        ),
        h(
          'div',
          { class: 'stat', testid: 'verify-approved' },
          h('span', { class: 'stat-label', text: 'Approved' }),
          h('b', { class: 'stat-value', text: fmtNumber(s.total?.approved ?? 0) }),
        ),
        h(
          'div',
          { class: 'stat', testid: 'verify-conversion' },
          h('span', { class: 'stat-label', text: 'Conversion' }),
          h('b', { class: 'stat-value', text: fmtPercent(s.total?.conversion) }),
        ),
      ),
      table(
        'By country',
        'verify-countries',
        ['Country', 'Started', 'Approved', 'Conversion'],
        (s.countries ?? []).map((c) => [c.country ?? 'unknown', ...counts(c)]),
      ),
      table(
        'By prefix (busiest 100)',
        'verify-prefixes',
        ['Prefix', 'Country', 'Started', 'Approved', 'Conversion'],
        (s.prefixes ?? []).map((p) => [p.prefix ?? '', p.country ?? '—', ...counts(p)]),
      ),
      table(
        'Blocked prefixes (too few codes confirmed; new verifications are refused until the block ends)',
        'verify-blocked',
        ['Prefix', 'Blocked at', 'Until', 'Started', 'Approved'],
        (s.blocked_prefixes ?? []).map((b) => [
          b.prefix ?? '',
          fmtTime(b.blocked_at),
          fmtTime(b.blocked_until),
          fmtNumber(b.started ?? 0),
          fmtNumber(b.approved ?? 0),
        ]),
      ),
    );
  }
  period.addEventListener('change', () => void load());
  fill(
    main,
    h('h1', { text: 'Verifications' }),
    h('form', { class: 'filters', 'aria-label': 'Period', testid: 'verify-filters' }, field('Period', period)),
    note,
    out,
  );
  await load();
  return undefined;
}
