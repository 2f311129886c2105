// Dashboard: today's counts by status, delivery rate, cost today and this month, the daily-cap
// gauge, this tenant's outbox (depth, oldest pending age), and 30 days of messages and cost. uPlot draws the chart: ~50 KB, canvas, no runtime
// dependencies, and it styles only through the CSSOM (allowed by the page's CSP), where Chart.js
// is four times the size for the same line chart.
import uPlot from 'uplot';
import type { EventType } from '../../../src/core/events.js';
import { api, hasScope, must, state } from '../api.js';
import { fill, fmtNumber, fmtPercent, h } from '../../lib/dom.js';

const dayStart = (d: Date): string => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())).toISOString();
const monthStart = (d: Date): string => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString();
const money = (c: { actual?: string; estimated?: string } | undefined, unit: string): string => {
  const total = Number(c?.actual ?? 0) + Number(c?.estimated ?? 0);
  return `${total.toFixed(4)} ${unit}`;
};

/** A wait in words: seconds, minutes or hours. */
function fmtAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function stat(label: string, value: string, testid: string, note?: string): HTMLElement {
  return h(
    'div',
    { class: 'stat', testid },
    h('span', { class: 'stat-label', text: label }),
    h('b', { class: 'stat-value', text: value }),
    note ? h('small', { class: 'muted', text: note }) : null,
  );
}

// The page follows new traffic: it is drawn again this often while visible, and soon after an
// event of the live stream (once the usage rollup, every few seconds, has counted it).
const REFRESH_MS = 10_000;
const AFTER_EVENT_MS = 3_000;
const LIVE: readonly EventType[] = [
  'message.sent',
  'message.delivered',
  'message.undelivered',
  'message.failed',
  'message.received',
  'usage.cap_threshold',
  'usage.cap_reached',
];

export async function dashboardPage(main: HTMLElement): Promise<() => void> {
  let stopped = false;
  const alive = () => !stopped;
  let chart = (await render(main, alive))!;
  const redraw = async () => {
    if (document.hidden || stopped) return;
    const next = await render(main, alive).catch(() => null);
    if (next) {
      chart.destroy();
      chart = next;
    }
  };
  const timer = setInterval(redraw, REFRESH_MS);
  // The stream (cookie-authenticated GET) serves the session's own tenant: EventSource cannot send
  // the Smsrelay-Tenant header, so a platform admin looking at another tenant relies on the timer.
  let stream: EventSource | null = null;
  if (!state.tenant && hasScope('events:read')) {
    stream = new EventSource(`/v1/events/stream?type=${LIVE.join(',')}`);
    // A burst of events makes one redraw.
    let pending = false;
    for (const type of LIVE)
      stream.addEventListener(type, () => {
        if (pending) return;
        pending = true;
        setTimeout(() => {
          pending = false;
          void redraw();
        }, AFTER_EVENT_MS);
      });
  }
  const resize = () => chart.setSize({ width: Math.max(280, chart.root.parentElement?.clientWidth ?? 600), height: 220 });
  window.addEventListener('resize', resize);
  return () => {
    stopped = true;
    stream?.close();
    clearInterval(timer);
    window.removeEventListener('resize', resize);
    chart.destroy();
  };
}

/** Draws the page; null when the page was left while its data loaded. */
async function render(main: HTMLElement, alive: () => boolean): Promise<uPlot | null> {
  const now = new Date();
  const [today, month, days, policy, outbox] = await Promise.all([
    must(api.GET('/v1/usage', { params: { query: { since: dayStart(now), group_by: 'status' } } })),
    must(api.GET('/v1/usage', { params: { query: { since: monthStart(now) } } })),
    must(api.GET('/v1/usage', { params: { query: {} } })),
    must(api.GET('/v1/policy/stats', { params: { query: {} } })),
    // The outbox is the messages' (scope messages:read); a usage-only key sees the rest.
    hasScope('messages:read') ? must(api.GET('/v1/outbox')) : null,
  ]);
  if (!alive()) return null;
  const unit = today.price_unit ?? 'USD';
  const byStatus = new Map<string, number>();
  for (const row of today.data ?? []) byStatus.set(row.group ?? '', (byStatus.get(row.group ?? '') ?? 0) + (row.messages ?? 0));
  const count = (...statuses: string[]) => statuses.reduce((n, s) => n + (byStatus.get(s) ?? 0), 0);
  const held = Object.values(policy.held ?? {}).reduce((a, b) => a + b, 0);

  const cap = today.cap;
  let gauge: HTMLElement;
  if (cap && cap.daily_cap !== null && cap.daily_cap !== undefined) {
    const used = cap.used ?? 0;
    const meter = h('meter', {
      id: 'cap-meter',
      min: '0',
      max: String(cap.daily_cap),
      value: String(Math.min(used, cap.daily_cap)),
      high: String(Math.round((cap.alert_at ?? 0.8) * cap.daily_cap)),
      optimum: '0',
      testid: 'cap-meter',
    });
    gauge = h(
      'section',
      { class: 'card', 'aria-labelledby': 'cap-title' },
      h('h2', { id: 'cap-title', text: 'Daily cap' }),
      h('label', { for: 'cap-meter', class: 'sr-only', text: 'Messages counted against the daily cap' }),
      meter,
      h('p', { testid: 'cap-text', text: `${fmtNumber(used)} of ${fmtNumber(cap.daily_cap)} today (${cap.day}, ${cap.timezone})` }),
      h('p', {
        class: cap.cap_reached ? 'error' : cap.threshold_reached ? 'warn' : 'muted',
        testid: 'cap-threshold',
        text: `Alert at ${Math.round((cap.alert_at ?? 0) * 100)} %${cap.cap_reached ? ': cap reached, sends are refused' : cap.threshold_reached ? ': threshold reached' : ''}`,
      }),
    );
  } else {
    gauge = h(
      'section',
      { class: 'card' },
      h('h2', { text: 'Daily cap' }),
      h('p', { class: 'muted', testid: 'cap-text', text: 'No daily cap is set (Settings → Policies).' }),
    );
  }

  const chartBox = h('div', { class: 'chart', testid: 'chart', role: 'img', 'aria-label': 'Messages and cost per day over the last 30 days' });
  fill(
    main,
    h('h1', { text: 'Dashboard' }),
    h(
      'section',
      { class: 'stats', 'aria-label': 'Today' },
      stat('Sent today', fmtNumber(count('sent', 'delivered', 'undelivered', 'failed', 'accepted', 'sending', 'queued')), 'stat-sent'),
      stat('Delivered', fmtNumber(count('delivered')), 'stat-delivered'),
      stat('Failed', fmtNumber(count('failed', 'undelivered')), 'stat-failed'),
      stat('Held', fmtNumber(held), 'stat-held', 'by the sending policy'),
      stat('Delivery rate', fmtPercent(today.totals?.delivery_rate), 'stat-rate'),
      stat('Cost today', money(today.totals?.cost, unit), 'stat-cost-today'),
      stat('Cost this month', money(month.totals?.cost, unit), 'stat-cost-month'),
      outbox ? stat('Outbox', fmtNumber(outbox.depth), 'stat-outbox', `${fmtNumber(outbox.scheduled)} scheduled`) : null,
      outbox ? stat('Oldest pending', fmtAge(outbox.oldest_pending_age_seconds), 'stat-outbox-age', 'waiting for the worker') : null,
    ),
    gauge,
    h('section', { class: 'card' }, h('h2', { text: 'Last 30 days' }), chartBox),
  );

  const rows = days.data ?? [];
  const xs = rows.map((r) => Date.parse(r.period_start ?? '') / 1000);
  return new uPlot(
    {
      width: Math.max(280, chartBox.clientWidth || 600),
      height: 220,
      series: [{}, { label: 'Messages', stroke: '#2f6fed', width: 2 }, { label: `Cost (${unit})`, stroke: '#12805c', width: 2, scale: 'cost' }],
      axes: [{}, { label: 'Messages' }, { side: 1, scale: 'cost', label: 'Cost' }],
    },
    [xs, rows.map((r) => r.messages ?? 0), rows.map((r) => Number(r.cost?.actual ?? 0) + Number(r.cost?.estimated ?? 0))],
    chartBox,
  );
}
