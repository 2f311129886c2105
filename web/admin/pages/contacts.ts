// Contacts and consent: look a number up (consent state and history, the contact record), edit
// the contact, opt in or out with a reason, and the opt-out list with its CSV export.
import { api, errorText, hasScope, must } from '../api.js';
import { dataTable, field, fill, fmtTime, h } from '../../lib/dom.js';

export async function contactsPage(main: HTMLElement, route: string[]): Promise<undefined> {
  const phone = h('input', { name: 'phone', type: 'search', inputmode: 'tel', required: true, placeholder: '+14155552671', testid: 'lookup-phone' });
  const lookup = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Look a number up', testid: 'lookup-form' },
    field('Phone number', phone),
    h('button', { class: 'btn', type: 'submit', text: 'Look up' }),
  );
  const detail = h('section', { 'aria-live': 'polite', testid: 'contact-detail' });
  const optOuts = h('tbody', { testid: 'optouts' });
  const exportNote = h('span', { role: 'status' });
  const exportBtn = h('button', { class: 'btn small', type: 'button', testid: 'optouts-export', text: 'Export CSV' });
  exportBtn.addEventListener('click', async () => {
    const r = await api.GET('/v1/opt-outs', { params: { query: { format: 'csv' } }, parseAs: 'blob' });
    if (r.error || !r.data) {
      exportNote.textContent = errorText(r.error);
      return;
    }
    const a = h('a', { href: URL.createObjectURL(r.data as unknown as Blob), download: 'opt-outs.csv' });
    a.click();
    URL.revokeObjectURL(a.href);
  });

  lookup.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/contacts/${encodeURIComponent(phone.value.trim())}`;
  });

  async function loadOptOuts(): Promise<void> {
    const page = await must(api.GET('/v1/opt-outs', { params: { query: { limit: 50 } } }));
    fill(
      optOuts,
      (page.data ?? []).map((o) =>
        h(
          'tr',
          null,
          h('td', null, h('a', { href: `#/contacts/${encodeURIComponent(o.phone ?? '')}`, text: o.phone ?? '' })),
          h('td', { text: o.source ?? '' }),
          h('td', { text: o.reason ?? '' }),
          h('td', { text: fmtTime(o.created_at) }),
        ),
      ),
    );
  }

  fill(
    main,
    h('h1', { text: 'Contacts and consent' }),
    lookup,
    detail,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'optouts-title' },
      h('div', { class: 'row' }, h('h2', { id: 'optouts-title', text: 'Opted out' }), exportBtn, exportNote),
      dataTable(['Number', 'Source', 'Reason', 'Since'], optOuts),
    ),
  );
  if (route[0]) {
    phone.value = route[0];
    await showNumber(detail, route[0], loadOptOuts);
  }
  await loadOptOuts();
  return undefined;
}

async function showNumber(box: HTMLElement, phone: string, onChange: () => Promise<void>): Promise<void> {
  const r = await api.GET('/v1/consents/{phone}', { params: { path: { phone } } });
  // No consent event yet for this number: it may be opted out (or in) from here.
  const none = r.error?.error?.code === 'SMS_ERR_NOT_FOUND';
  if (r.error && !none) {
    fill(box, h('p', { class: 'error', role: 'alert', text: errorText(r.error) }));
    return;
  }
  const consent = r.data ?? { phone, state: undefined, suppressed: false, history: [] };
  const contact = hasScope('contacts:read') ? (await api.GET('/v1/contacts/{phone}', { params: { path: { phone } } })).data : undefined;
  const e164 = consent.phone ?? phone;

  const reason = h('input', { name: 'reason', maxlength: '500', testid: 'consent-reason' });
  const status = h('p', { role: 'status', testid: 'consent-status' });
  const act = async (action: 'opt_out' | 'opt_in') => {
    const r = await api.POST('/v1/consents', { body: { phone: e164, action, reason: reason.value || null } });
    if (r.error) {
      status.textContent = errorText(r.error);
      return;
    }
    await showNumber(box, phone, onChange);
    await onChange();
  };
  const optOut = h('button', { class: 'btn danger', type: 'button', testid: 'opt-out', text: 'Opt out' });
  const optIn = h('button', { class: 'btn', type: 'button', testid: 'opt-in', text: 'Opt in' });
  optOut.addEventListener('click', () => void act('opt_out'));
  optIn.addEventListener('click', () => void act('opt_in'));

  const name = h('input', { name: 'name', value: contact?.name ?? '', maxlength: '200' });
  const locale = h('input', { name: 'locale', value: contact?.locale ?? '', maxlength: '35', placeholder: 'en-US' });
  const tz = h('input', { name: 'time_zone', value: contact?.time_zone ?? '', maxlength: '64', placeholder: 'America/New_York' });
  const ref = h('input', { name: 'external_ref', value: contact?.external_ref ?? '', maxlength: '200', placeholder: 'lead:42' });
  const saved = h('p', { role: 'status' });
  const edit = h(
    'form',
    { class: 'card', 'aria-labelledby': 'contact-title', testid: 'contact-form' },
    h('h3', { id: 'contact-title', text: 'Contact' }),
    h('div', { class: 'row' }, field('Name', name), field('Locale', locale), field('Time zone', tz), field('Linked entity', ref)),
    h('button', { class: 'btn', type: 'submit', text: 'Save contact' }),
    saved,
  );
  edit.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api.PUT('/v1/contacts/{phone}', {
      params: { path: { phone: e164 } },
      body: { name: name.value || null, locale: locale.value || null, time_zone: tz.value || null, external_ref: ref.value || null },
    });
    saved.textContent = r.error ? errorText(r.error) : 'Saved.';
  });

  // Right of access and right to erasure.
  const privacyNote = h('p', { role: 'status', testid: 'privacy-status' });
  const exportBtn = h('button', { class: 'btn', type: 'button', testid: 'contact-export', text: 'Export data (JSON)' });
  exportBtn.addEventListener('click', async () => {
    const r = await api.GET('/v1/contacts/{phone}/export', { params: { path: { phone: e164 } } });
    if (r.error) {
      privacyNote.textContent = errorText(r.error);
      return;
    }
    const a = h('a', { href: URL.createObjectURL(new Blob([JSON.stringify(r.data, null, 2)], { type: 'application/json' })), download: `${e164}.json` });
    a.click();
    URL.revokeObjectURL(a.href);
  });
  const eraseBtn = h('button', { class: 'btn danger', type: 'button', testid: 'contact-erase', text: 'Erase number' });
  eraseBtn.addEventListener('click', async () => {
    if (
      !confirm(
        `Erase everything held about ${e164}? Waiting messages are cancelled, message bodies redacted and the number replaced by a hash; the consent record stays. This cannot be undone.`,
      )
    )
      return;
    const r = await api.POST('/v1/contacts/{phone}/erase', { params: { path: { phone: e164 } } });
    privacyNote.textContent = r.error ? errorText(r.error) : 'Erased.';
  });
  const privacy = hasScope('contacts:write')
    ? h(
        'section',
        { class: 'card', 'aria-labelledby': 'privacy-title' },
        h('h3', { id: 'privacy-title', text: 'Data' }),
        h('div', { class: 'row' }, exportBtn, eraseBtn),
        privacyNote,
      )
    : null;

  fill(
    box,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'consent-title' },
      h('h2', { id: 'consent-title', text: e164 }),
      h(
        'p',
        { testid: 'consent-state' },
        'Consent: ',
        h('b', { text: consent.state === 'opted_out' ? 'opted out' : 'opted in' }),
        consent.suppressed ? ' · messages to it are refused' : '',
      ),
      hasScope('messages:write') ? h('div', { class: 'row' }, field('Reason (optional)', reason), consent.state === 'opted_out' ? optIn : optOut) : null,
      status,
      h('h3', { text: 'History' }),
      h(
        'ol',
        { class: 'timeline', testid: 'consent-history' },
        (consent.history ?? []).map((x) =>
          h(
            'li',
            null,
            h('b', { text: x.action === 'opt_out' ? 'Opted out' : 'Opted in' }),
            ` · ${x.source ?? ''} · ${fmtTime(x.created_at)}`,
            x.detail ? ` · ${x.detail}` : '',
          ),
        ),
      ),
    ),
    hasScope('contacts:write') ? edit : null,
    privacy,
  );
}
