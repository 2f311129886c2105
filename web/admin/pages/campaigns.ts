// Campaigns: the list, a new campaign from a CSV upload (created as a draft, the file streamed to
// POST /v1/campaigns/:id/recipients, then the estimate shown before anything is sent), and a
// campaign's live progress per recipient state with start / pause / resume / cancel and the
// per-recipient export.
import type { paths } from '../../../src/client/schema.js';
import { api, campaignUpload, errorText, hasScope, must } from '../api.js';
import { dataTable, field, fill, fmtNumber, fmtTime, h, options } from '../../lib/dom.js';

type Campaign = paths['/v1/campaigns/{id}']['get']['responses'][200]['content']['application/json'];
type Counts = NonNullable<Campaign['counts']>;
type RecipientState = NonNullable<NonNullable<paths['/v1/campaigns/{id}/recipients']['get']['parameters']['query']>['status']>;

// The recipient states, in the order a campaign moves them (core/campaigns.ts RECIPIENT_STATES).
const STATES: RecipientState[] = ['pending', 'held', 'sent', 'delivered', 'failed', 'undelivered', 'suppressed', 'invalid', 'canceled'];
const ACTIONS: Record<string, ('start' | 'pause' | 'resume' | 'cancel')[]> = {
  draft: ['start', 'cancel'],
  scheduled: ['cancel'],
  running: ['pause', 'cancel'],
  paused: ['resume', 'cancel'],
};
const REFRESH_MS = 2_000;

export async function campaignsPage(main: HTMLElement, route: string[]): Promise<(() => void) | undefined> {
  if (route[0]) return campaignPage(main, route[0]);
  const list = await must(api.GET('/v1/campaigns', { params: { query: { limit: 100 } } }));
  fill(
    main,
    h('h1', { text: 'Campaigns' }),
    hasScope('campaigns:write') ? newCampaignForm() : null,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'campaigns-title' },
      h('h2', { id: 'campaigns-title', text: 'All campaigns' }),
      (list.data ?? []).length === 0
        ? h('p', { class: 'muted', text: 'No campaign yet.' })
        : dataTable(
            ['Name', 'Status', 'Recipients', 'Sent', 'Created'],
            (list.data ?? []).map((c) =>
              h(
                'tr',
                null,
                h('td', null, h('a', { href: `#/campaigns/${encodeURIComponent(c.id ?? '')}`, text: c.name ?? c.id ?? '' })),
                h('td', null, h('span', { class: `tag status-${c.status}`, text: c.status ?? '' })),
                h('td', { text: fmtNumber(c.total) }),
                h('td', { text: fmtNumber(sentOf(c.counts)) }),
                h('td', { text: fmtTime(c.created_at) }),
              ),
            ),
            { testid: 'campaigns-table' },
          ),
    ),
  );
  return undefined;
}

const sentOf = (c: Counts | undefined): number => (c ? (c.sent ?? 0) + (c.delivered ?? 0) + (c.failed ?? 0) + (c.undelivered ?? 0) : 0);

function newCampaignForm(): HTMLElement {
  const name = h('input', { name: 'name', required: true, maxlength: '200', testid: 'camp-name' });
  const template = h('select', { name: 'template', testid: 'camp-template' }, h('option', { value: '', text: '— a body instead —' }));
  void api.GET('/v1/templates', { params: { query: { limit: 200 } } }).then((r) => {
    for (const t of r.data?.data ?? []) template.append(h('option', { value: t.name ?? '', text: `${t.name} (${t.category})` }));
  });
  const body = h('textarea', { name: 'body', rows: '2', maxlength: '1600', testid: 'camp-body' });
  const category = h('select', { name: 'category', testid: 'camp-category' }, options(['marketing', 'transactional'], 'marketing'));
  const rate = h('input', { name: 'rate', type: 'number', min: '1', max: '10000', testid: 'camp-rate' });
  const file = h('input', { name: 'csv', type: 'file', accept: '.csv,text/csv', required: true, testid: 'camp-csv' });
  const status = h('div', { role: 'status', 'aria-live': 'polite', testid: 'camp-status' });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'camp-new-title', testid: 'camp-form' },
    h('h2', { id: 'camp-new-title', text: 'New campaign from a CSV' }),
    h('p', {
      class: 'muted',
      text: "The CSV needs a 'phone' column and one column per template variable. Nothing is sent until you start it.",
    }),
    h('div', { class: 'row' }, field('Name', name), field('Category', category), field('Rate (messages/s, optional)', rate)),
    h('div', { class: 'row' }, field('Template', template), field('Body (without a template)', body)),
    field('Recipients (CSV)', file),
    h('button', { class: 'btn primary', type: 'submit', testid: 'camp-create', text: 'Upload and estimate' }),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const csv = file.files?.[0];
    if (!csv) return;
    fill(status, h('p', { text: 'Creating the campaign…' }));
    const created = await api.POST('/v1/campaigns', {
      body: {
        name: name.value,
        category: category.value as 'marketing' | 'transactional',
        ...(template.value ? { template: template.value } : { body: body.value }),
        ...(rate.value ? { rate: Number(rate.value) } : {}),
      },
    });
    if (created.error) {
      fill(status, h('p', { class: 'error', role: 'alert', text: errorText(created.error) }));
      return;
    }
    const id = created.data.id ?? '';
    fill(status, h('p', { text: `Uploading ${csv.name} (${fmtNumber(csv.size)} bytes)…` }));
    const uploaded = await campaignUpload(id, csv);
    if ('error' in uploaded) {
      fill(status, h('p', { class: 'error', role: 'alert', text: errorText(uploaded.error) }));
      return;
    }
    // The campaign's page shows the estimate before it can be started.
    location.hash = `#/campaigns/${encodeURIComponent(id)}`;
  });
  return form;
}

async function campaignPage(main: HTMLElement, id: string): Promise<() => void> {
  const header = h('div');
  const progress = h('section', { class: 'card', 'aria-labelledby': 'camp-progress-title' });
  const estimate = h('section', { class: 'card', 'aria-labelledby': 'camp-estimate-title', testid: 'camp-estimate' });
  const recipients = h('section', { class: 'card', 'aria-labelledby': 'camp-recipients-title' });
  const actionStatus = h('p', { role: 'status', testid: 'camp-action-status' });
  let statusFilter = '';
  let last: Campaign | null = null;

  const draw = async (): Promise<void> => {
    const c = await must(api.GET('/v1/campaigns/{id}', { params: { path: { id } } }));
    const changed = last?.status !== c.status;
    last = c;
    fill(
      header,
      h('h1', { text: `Campaign: ${c.name}` }),
      h('p', null, h('span', { class: `tag status-${c.status}`, testid: 'camp-state', text: c.status ?? '' })),
    );
    fill(progress, ...progressView(c), actionsView(c), actionStatus);
    if (changed) await drawRecipients();
  };

  const drawRecipients = async (): Promise<void> => {
    const filter = h('select', { id: 'recipient-status', testid: 'recipient-status' }, options(['', ...STATES], statusFilter));
    filter.addEventListener('change', () => {
      statusFilter = filter.value;
      void drawRecipients();
    });
    const r = await must(
      api.GET('/v1/campaigns/{id}/recipients', {
        params: { path: { id }, query: { limit: 50, ...(statusFilter ? { status: statusFilter as RecipientState } : {}) } },
      }),
    );
    const exportBtn = h('button', { class: 'btn small', type: 'button', testid: 'camp-export', text: 'Export CSV' });
    exportBtn.addEventListener('click', async () => {
      const r = await api.GET('/v1/campaigns/{id}/recipients.csv', { params: { path: { id } }, parseAs: 'blob' });
      if (r.error || !r.data) {
        actionStatus.textContent = errorText(r.error);
        return;
      }
      const a = h('a', { href: URL.createObjectURL(r.data as unknown as Blob), download: `campaign-${id}.csv` });
      a.click();
      URL.revokeObjectURL(a.href);
    });
    fill(
      recipients,
      h('h2', { id: 'camp-recipients-title', text: 'Recipients' }),
      h(
        'div',
        { class: 'row' },
        h('div', { class: 'field' }, h('label', { for: 'recipient-status', text: 'State' }), filter),
        exportBtn,
        h('a', { class: 'btn small', href: `#/messages/campaign/${encodeURIComponent(id)}`, testid: 'camp-messages', text: 'Its messages' }),
      ),
      dataTable(
        ['Row', 'Phone', 'State', 'Error', 'Price'],
        (r.data ?? []).map((x) =>
          h(
            'tr',
            null,
            h('td', { text: x.row ?? '' }),
            h('td', { class: 'mono', text: x.phone ?? '' }),
            h('td', null, h('span', { class: `tag status-${x.status}`, text: x.status ?? '' })),
            h('td', { text: x.error_code ? `${x.error_code}${x.error_message ? `: ${x.error_message}` : ''}` : '' }),
            h('td', { text: x.price ?? '' }),
          ),
        ),
        { testid: 'recipients-table' },
      ),
    );
  };

  const actionsView = (c: Campaign): HTMLElement =>
    h(
      'div',
      { class: 'row' },
      hasScope('campaigns:write')
        ? (ACTIONS[c.status ?? ''] ?? []).map((action) => {
            const b = h('button', {
              class: action === 'cancel' ? 'btn danger' : 'btn primary',
              type: 'button',
              testid: `camp-${action}`,
              text: action[0]!.toUpperCase() + action.slice(1),
            });
            b.addEventListener('click', async () => {
              if (action === 'cancel' && !confirm('Cancel this campaign? Recipients not sent yet are canceled.')) return;
              const r = await api.POST(`/v1/campaigns/{id}/${action}`, { params: { path: { id } } });
              actionStatus.className = r.error ? 'error' : '';
              actionStatus.textContent = r.error ? errorText(r.error) : `${action[0]!.toUpperCase()}${action.slice(1)}: now ${r.data.status}.`;
              await draw();
            });
            return b;
          })
        : null,
    );

  await draw();
  // The estimate once (it samples quiet hours and prices the audience): shown before a start.
  const est = await api.POST('/v1/campaigns/{id}/estimate', { params: { path: { id } } });
  fill(
    estimate,
    h('h2', { id: 'camp-estimate-title', text: 'Estimate' }),
    est.error
      ? h('p', { class: 'error', text: errorText(est.error) })
      : h(
          'dl',
          { class: 'kv' },
          fact('Valid recipients', fmtNumber(est.data.valid)),
          fact('Invalid rows', fmtNumber(est.data.invalid)),
          fact('Duplicates dropped', fmtNumber(est.data.duplicates)),
          fact('Opted out (suppressed)', fmtNumber(est.data.suppressed)),
          fact('Segments', fmtNumber(est.data.segments)),
          fact('Estimated cost', est.data.cost ? `${est.data.cost.amount} ${est.data.cost.unit}` : '—'),
          fact('Held by quiet hours now', fmtNumber(est.data.held_by_quiet_hours_now)),
        ),
  );
  fill(main, header, estimate, progress, recipients);
  const timer = setInterval(() => {
    if (last && ['running', 'paused', 'scheduled'].includes(last.status ?? '')) void draw().catch(() => undefined);
  }, REFRESH_MS);
  return () => clearInterval(timer);
}

function progressView(c: Campaign): HTMLElement[] {
  const total = Math.max(1, c.total ?? 0);
  return [
    h('h2', { id: 'camp-progress-title', text: 'Progress' }),
    h(
      'ul',
      { class: 'bars', testid: 'camp-bars' },
      STATES.map((s) => {
        const n = c.counts?.[s] ?? 0;
        const id = `bar-${s}`;
        return h(
          'li',
          null,
          h('label', { for: id, text: `${s}: ${fmtNumber(n)}` }),
          h('progress', { id, max: String(total), value: String(n), testid: `bar-${s}` }),
        );
      }),
    ),
    h(
      'p',
      { class: 'muted', testid: 'camp-rate-now' },
      `${fmtNumber(c.total)} recipients · cost so far ${c.cost ?? '0'} · ${(c.rate_now ?? 0).toFixed(1)} msg/s now`,
      c.estimated_finish ? ` · finishes about ${fmtTime(c.estimated_finish)}` : '',
    ),
  ];
}

const fact = (term: string, value: string) => [h('dt', { text: term }), h('dd', { text: value })];
