// Messages: a filterable, cursor-paged table (status, number, date range, category, template, campaign) with
// its CSV export, a send form, and a message's detail with its event timeline (raw provider fields
// folded) and cancel.
import { api, errorText, hasScope, type Message, must } from '../api.js';
import { dataTable, field, fill, fmtTime, h, options } from '../../lib/dom.js';
import { segmentText } from '../../lib/segments.js';

const STATUSES = ['', 'pending', 'scheduled', 'accepted', 'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'canceled', 'received'] as const;
type Status = Exclude<(typeof STATUSES)[number], ''>;
const CATEGORIES = ['', 'transactional', 'marketing', 'otp'] as const;
type Category = Exclude<(typeof CATEGORIES)[number], ''>;
const CANCELLABLE = new Set(['pending', 'scheduled']);

const statusTag = (s: string): HTMLElement => h('span', { class: `tag status-${s}`, testid: 'status', text: s });

export async function messagesPage(main: HTMLElement, route: string[]): Promise<(() => void) | undefined> {
  // #/messages/campaign/<id>: the list filtered to a campaign's messages (from its page).
  const campaignId = route[0] === 'campaign' ? (route[1] ?? '') : null;
  if (route[0] && campaignId === null) return messageDetail(main, route[0]);
  const status = h('select', { name: 'status' }, options(STATUSES, null, { '': 'Any status' }));
  const to = h('input', { name: 'to', type: 'search', inputmode: 'tel', placeholder: '+14155552671' });
  const since = h('input', { name: 'since', type: 'date' });
  const until = h('input', { name: 'until', type: 'date' });
  const category = h('select', { name: 'category' }, options(CATEGORIES, null, { '': 'Any category' }));
  // The template names this tenant has, offered as suggestions (any name may be typed).
  const templateNames = h('datalist', { id: 'template-names' });
  const template = h('input', { name: 'template', type: 'search', list: 'template-names', maxlength: '64', autocomplete: 'off' });
  void api.GET('/v1/templates', { params: { query: { limit: 200 } } }).then((r) => {
    templateNames.replaceChildren(...(r.data?.data ?? []).map((x) => h('option', { value: x.name })));
  });
  const campaign = h('select', { name: 'campaign', testid: 'filter-campaign' }, h('option', { value: '', text: 'Any campaign' }));
  if (campaignId) campaign.append(h('option', { value: campaignId, text: campaignId, selected: true }));
  if (hasScope('campaigns:read')) {
    void api.GET('/v1/campaigns', { params: { query: { limit: 100 } } }).then((r) => {
      for (const c of r.data?.data ?? []) {
        const existing = [...campaign.options].find((o) => o.value === c.id);
        if (existing) existing.textContent = c.name ?? c.id ?? '';
        else campaign.append(h('option', { value: c.id ?? '', text: c.name ?? c.id ?? '' }));
      }
    });
  }
  const exportNote = h('span', { role: 'status', testid: 'export-note' });
  const exportBtn = h('button', { class: 'btn', type: 'button', testid: 'messages-export', text: 'Export CSV' });
  const filters = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter messages', testid: 'filters' },
    field('Status', status),
    field('Number', to),
    field('From date', since),
    field('To date', until),
    field('Category', category),
    field('Template', template),
    templateNames,
    field('Campaign', campaign),
    h('button', { class: 'btn', type: 'submit', text: 'Filter' }),
    exportBtn,
    exportNote,
  );
  const body = h('tbody', { testid: 'messages-rows' });
  const more = h('button', { class: 'btn', type: 'button', text: 'Next page', testid: 'next-page', hidden: true });
  const note = h('p', { class: 'muted', role: 'status' });
  let cursor: string | null = null;
  let pages = 0;
  const filterQuery = () => ({
    status: (status.value || undefined) as Status | undefined,
    to: to.value.trim() || undefined,
    since: since.value ? new Date(`${since.value}T00:00:00`).toISOString() : undefined,
    until: until.value ? new Date(`${until.value}T23:59:59.999`).toISOString() : undefined,
    category: (category.value || undefined) as Category | undefined,
    template: template.value.trim() || undefined,
    campaign: campaign.value || undefined,
  });

  async function load(reset: boolean): Promise<void> {
    if (reset) {
      cursor = null;
      pages = 0;
      body.replaceChildren();
    }
    try {
      const page = await must(api.GET('/v1/messages', { params: { query: { ...filterQuery(), limit: 50, cursor: cursor ?? undefined } } }));
      for (const m of page.data ?? []) body.append(row(m));
      pages++;
      cursor = page.next_cursor ?? null;
      more.hidden = cursor === null;
      note.textContent = body.children.length ? '' : 'No messages match.';
    } catch (e) {
      note.textContent = errorText(e);
    }
  }
  /** The first page again, with the same filters: new messages and status changes show up. */
  async function refresh(): Promise<void> {
    const page = await api.GET('/v1/messages', { params: { query: { ...filterQuery(), limit: 50 } } });
    // Not while the user pages further or is on a link of the table (a redraw would lose the focus).
    if (!page.data || pages !== 1 || body.contains(document.activeElement)) return;
    body.replaceChildren(...(page.data.data ?? []).map(row));
    cursor = page.data.next_cursor ?? null;
    more.hidden = cursor === null;
  }
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    void load(true);
  });
  more.addEventListener('click', () => void load(false));
  // Fetched (not a plain link) so the session's tenant header goes along; the server streams it.
  exportBtn.addEventListener('click', async () => {
    exportNote.textContent = 'Exporting…';
    const r = await api.GET('/v1/messages.csv', { params: { query: filterQuery() }, parseAs: 'blob' });
    if (r.error || !r.data) {
      exportNote.textContent = errorText(r.error);
      return;
    }
    exportNote.textContent = '';
    const a = h('a', { href: URL.createObjectURL(r.data as unknown as Blob), download: 'messages.csv' });
    a.click();
    URL.revokeObjectURL(a.href);
  });

  fill(
    main,
    h('h1', { text: 'Messages' }),
    hasScope('messages:write') ? sendForm(() => void load(true)) : null,
    filters,
    dataTable(['To', 'From', 'Status', 'Body', 'Created'], body, { caption: h('caption', { class: 'sr-only', text: 'Messages, newest first' }) }),
    note,
    more,
  );
  await load(true);
  // The first page follows new messages and status changes while the page is open.
  const timer = setInterval(() => {
    if (!document.hidden) void refresh();
  }, 3000);
  return () => clearInterval(timer);
}

function row(m: Message): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-id': m.id, testid: 'message-row' },
    h('td', null, h('a', { href: `#/messages/${encodeURIComponent(m.id)}`, text: m.to })),
    h('td', { text: m.from ?? m.messaging_service_sid ?? '—' }),
    h('td', null, statusTag(m.status)),
    h('td', { class: 'clip', text: m.body ?? (m.media_urls?.length ? '(media)' : '') }),
    h('td', { text: fmtTime(m.created_at) }),
  );
}

function sendForm(onSent: () => void): HTMLElement {
  const to = h('input', { name: 'to', required: true, inputmode: 'tel', autocomplete: 'off', placeholder: '+14155552671', testid: 'send-to' });
  const from = h('input', { name: 'from', inputmode: 'tel', autocomplete: 'off', placeholder: 'default sender', testid: 'send-from' });
  const text = h('textarea', { name: 'body', rows: '3', maxlength: '1600', required: true, testid: 'send-body' });
  const category = h('select', { name: 'category' }, options(['transactional', 'marketing'], 'transactional'));
  const counter = h('small', { class: 'muted', 'aria-live': 'polite', testid: 'send-counter', text: segmentText('') });
  const status = h('p', { role: 'status', testid: 'send-status' });
  text.addEventListener('input', () => {
    counter.textContent = segmentText(text.value);
  });
  const form = h(
    'form',
    { class: 'card send', 'aria-labelledby': 'send-title', testid: 'send-form' },
    h('h2', { id: 'send-title', text: 'Send a message' }),
    h('div', { class: 'row' }, field('To', to), field('From (optional)', from), field('Category', category)),
    field('Message', text),
    counter,
    h('div', { class: 'row' }, h('button', { class: 'btn primary', type: 'submit', testid: 'send-submit', text: 'Send' })),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.className = '';
    status.textContent = 'Sending…';
    const r = await api.POST('/v1/messages', {
      body: { to: to.value.trim(), body: text.value, from: from.value.trim() || null, category: category.value as 'transactional' | 'marketing' },
    });
    if (r.error) {
      status.className = 'error';
      status.textContent = errorText(r.error);
      return;
    }
    status.textContent = `Accepted: ${r.data.status}.`;
    status.append(' ', h('a', { href: `#/messages/${encodeURIComponent(r.data.id)}`, testid: 'sent-link', text: 'Follow it' }));
    text.value = '';
    counter.textContent = segmentText('');
    onSent();
  });
  return form;
}

async function messageDetail(main: HTMLElement, id: string): Promise<() => void> {
  const render = async (): Promise<Message> => {
    const [m, events] = await Promise.all([
      must(api.GET('/v1/messages/{id}', { params: { path: { id } } })),
      must(api.GET('/v1/messages/{id}/events', { params: { path: { id } } })),
    ]);
    const cancel =
      CANCELLABLE.has(m.status) && hasScope('messages:write')
        ? h('button', { class: 'btn danger', type: 'button', testid: 'cancel', text: 'Cancel message' })
        : null;
    const note = h('p', { role: 'status' });
    cancel?.addEventListener('click', async () => {
      const r = await api.POST('/v1/messages/{id}/cancel', { params: { path: { id } } });
      if (r.error) note.textContent = errorText(r.error);
      else void render();
    });
    const rows: [string, string | null | undefined][] = [
      ['To', m.to],
      ['From', m.from ?? m.messaging_service_sid],
      ['Channel', m.channel],
      ['Category', m.category],
      ['Segments', `${m.segments} (${m.encoding ?? '—'})`],
      ['Price', m.price ? `${m.price} ${m.price_unit ?? ''}${m.price_estimated ? ' (estimated)' : ''}` : null],
      ['Error', m.error_code ? `${m.error_code}${m.provider_code ? ` / Twilio ${m.provider_code}` : ''}: ${m.error_message ?? ''}` : null],
      ['Held', m.hold_reason],
      ['Template', m.template ? `${m.template.name} v${m.template.version}` : null],
      ['Provider SID', m.provider_sid],
      ['Created', fmtTime(m.created_at)],
      ['Send at', m.send_at ? fmtTime(m.send_at) : null],
    ];
    fill(
      main,
      h('p', null, h('a', { href: '#/messages', text: '← Messages' })),
      h('h1', null, 'Message to ', m.to, ' ', statusTag(m.status)),
      h('div', { class: 'card' }, m.body ? h('p', { class: 'body-box', testid: 'detail-body', text: m.body }) : null, cancel, note),
      h(
        'dl',
        { class: 'kv card' },
        rows.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => [h('dt', { text: k }), h('dd', { text: String(v) })]),
      ),
      h('h2', { text: 'Timeline' }),
      h(
        'ol',
        { class: 'timeline', testid: 'timeline' },
        (events.data ?? []).map((e) =>
          h(
            'li',
            null,
            h('b', { text: e.status ?? '' }),
            ` · ${e.source ?? ''} · ${fmtTime(e.created_at)}`,
            e.error_code ? h('span', { class: 'error', text: ` ${e.error_code}` }) : null,
            e.data && typeof e.data === 'object' && Object.keys(e.data).length
              ? h('details', null, h('summary', { text: 'Raw fields' }), h('pre', { text: JSON.stringify(e.data, null, 2) }))
              : null,
          ),
        ),
      ),
    );
    return m;
  };
  let m = await render();
  // Until the message is final, its status and timeline follow the provider's callbacks.
  const timer = setInterval(async () => {
    if (['delivered', 'undelivered', 'failed', 'canceled', 'received'].includes(m.status) || document.hidden) return;
    m = await render().catch(() => m);
  }, 1500);
  return () => clearInterval(timer);
}
