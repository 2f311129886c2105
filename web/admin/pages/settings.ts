// Settings: Twilio credentials (the token is write-only) with the test send and its plain-words
// hint, the sending policies (daily cap and its alert threshold, auto-reply), quiet hours and the
// keywords with their replies as forms, the rest of the policy as JSON, API keys, webhook endpoints
// and the audit log.
import { api, errorText, hasScope, must } from '../api.js';
import { dataTable, field, fill, fmtTime, h } from '../../lib/dom.js';

function note(): HTMLParagraphElement {
  return h('p', { role: 'status' });
}
function show(el: HTMLElement, r: { error?: unknown }, ok: string): boolean {
  el.className = r.error ? 'error' : '';
  el.textContent = r.error ? errorText(r.error) : ok;
  return !r.error;
}

export async function settingsPage(main: HTMLElement): Promise<undefined> {
  if (!hasScope('admin')) {
    fill(main, h('h1', { text: 'Settings' }), h('p', { class: 'muted', text: "Settings need a key with the 'admin' scope." }));
    return undefined;
  }
  const [settings, keys, endpoints, audit] = await Promise.all([
    must(api.GET('/v1/settings')),
    must(api.GET('/v1/api-keys')),
    hasScope('events:read') ? listEndpoints().then((r) => r.data?.data ?? []) : Promise.resolve([]),
    must(api.GET('/v1/audit-log', { params: { query: { limit: 20 } } })),
  ]);

  // Credentials: the token field is always empty; the page shows only its last 4 characters.
  const sid = h('input', { name: 'twilio_account_sid', value: settings.twilio_account_sid ?? '', placeholder: 'AC…', autocomplete: 'off' });
  const token = h('input', {
    name: 'twilio_auth_token',
    type: 'password',
    autocomplete: 'new-password',
    placeholder: settings.auth_token_last4 ? `…${settings.auth_token_last4}` : '',
  });
  const from = h('input', { name: 'from_number', value: settings.from_number ?? '', placeholder: '+15005550006', testid: 'settings-from' });
  const credNote = note();
  const creds = h(
    'form',
    { class: 'card', 'aria-labelledby': 'creds-title', testid: 'creds-form' },
    h('h2', { id: 'creds-title', text: 'Twilio' }),
    h(
      'div',
      { class: 'row' },
      field('Account SID', sid),
      field(
        'Auth token (write-only)',
        token,
        settings.auth_token_set_at ? `set ${fmtTime(settings.auth_token_set_at)}` : 'not set: the installation’s account is used',
      ),
      field('From number', from),
    ),
    h('button', { class: 'btn primary', type: 'submit', text: 'Save' }),
    credNote,
  );
  creds.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body: Record<string, string | null> = { from_number: from.value.trim() || null };
    if (sid.value.trim() !== (settings.twilio_account_sid ?? '')) body.twilio_account_sid = sid.value.trim() || null;
    if (token.value) body.twilio_auth_token = token.value;
    const r = await api.PATCH('/v1/settings', { body });
    token.value = '';
    show(credNote, r, 'Saved.');
  });

  const testTo = h('input', { name: 'to', inputmode: 'tel', required: true, placeholder: '+14155552671', testid: 'test-to' });
  const testNote = note();
  testNote.setAttribute('data-testid', 'test-status');
  const test = h(
    'form',
    { class: 'card', 'aria-labelledby': 'test-title', testid: 'test-form' },
    h('h2', { id: 'test-title', text: 'Test send' }),
    field('To', testTo),
    h('button', { class: 'btn', type: 'submit', text: 'Send a test message' }),
    testNote,
  );
  test.addEventListener('submit', async (e) => {
    e.preventDefault();
    testNote.textContent = 'Sending and waiting for the final status…';
    const r = await api.POST('/v1/settings/test', { body: { to: testTo.value.trim() } });
    if (!show(testNote, r, '')) return;
    const d = r.data!;
    testNote.className = d.ok ? '' : 'error';
    testNote.textContent = d.ok ? `Delivered (${d.status}).` : `${d.status}${d.error_code ? ` · ${d.error_code}` : ''}${d.hint ? `: ${d.hint}` : ''}`;
  });

  // Policies: the daily cap and its alert threshold, and the auto-reply.
  const cap = h('input', { name: 'daily_cap', type: 'number', min: '0', step: '1', value: settings.daily_cap?.toString() ?? '', testid: 'daily-cap' });
  const alertAt = h('input', {
    name: 'daily_cap_alert_at',
    type: 'number',
    min: '0',
    max: '1',
    step: '0.05',
    value: String(settings.daily_cap_alert_at ?? 0.8),
  });
  const autoReply = h('input', { name: 'auto_reply', value: settings.auto_reply ?? '', maxlength: '1600' });
  const policyNote = note();
  policyNote.setAttribute('data-testid', 'policy-status');
  const policies = h(
    'form',
    { class: 'card', 'aria-labelledby': 'policy-title', testid: 'policy-form' },
    h('h2', { id: 'policy-title', text: 'Policies' }),
    h('div', { class: 'row' }, field('Daily cap (empty: none)', cap), field('Alert at (fraction of the cap)', alertAt), field('Auto-reply', autoReply)),
    h('button', { class: 'btn primary', type: 'submit', testid: 'policy-save', text: 'Save policies' }),
    policyNote,
  );
  policies.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api.PATCH('/v1/settings', {
      body: { daily_cap: cap.value === '' ? null : Number(cap.value), daily_cap_alert_at: Number(alertAt.value), auto_reply: autoReply.value || null },
    });
    show(policyNote, r, 'Saved.');
  });

  // The rest of the sending policy and the keyword replies, as the settings document's JSON: the
  // server validates it as a whole and names every bad field.
  const POLICY_KEYS = [
    'recipient_limits',
    'recipient_cooldown_seconds',
    'over_limit',
    'sender_rates',
    'consent_mode',
    'allowed_countries',
    'max_segments',
    'on_too_long',
  ] as const;
  const advanced = h('textarea', { id: 'policy-json', rows: '14', class: 'mono', spellcheck: 'false', testid: 'policy-json' });
  advanced.value = JSON.stringify(Object.fromEntries(POLICY_KEYS.map((k) => [k, settings[k]])), null, 2);
  const advancedNote = note();
  const advancedForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'advanced-title', testid: 'policy-json-form' },
    h('h2', { id: 'advanced-title', text: 'Limits, pacing, consent, length' }),
    h('p', { class: 'muted', text: 'The settings document’s keys (see the README’s Sending policy); null clears a value.' }),
    h('label', { for: 'policy-json', text: 'Settings (JSON)' }),
    advanced,
    h('button', { class: 'btn primary', type: 'submit', text: 'Save' }),
    advancedNote,
  );
  advancedForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(advanced.value) as Record<string, unknown>;
    } catch {
      advancedNote.className = 'error';
      advancedNote.textContent = 'This is not valid JSON.';
      return;
    }
    show(advancedNote, await api.PATCH('/v1/settings', { body }), 'Saved.');
  });

  const quiet = quietHoursForm(settings.quiet_hours ?? {});
  const keywords = keywordsForm(settings);

  // API keys: the secret of a new key is shown once.
  const keyRows = h('tbody', { testid: 'keys' });
  const renderKeys = (list: typeof keys.data) =>
    fill(
      keyRows,
      (list ?? []).map((k) => {
        const revoke = k.revoked_at ? null : h('button', { class: 'btn small danger', type: 'button', text: 'Revoke', 'aria-label': `Revoke ${k.name}` });
        revoke?.addEventListener('click', async () => {
          if (!confirm(`Revoke the key ${k.name}? Apps using it stop working.`)) return;
          await api.POST('/v1/api-keys/{id}/revoke', { params: { path: { id: k.id } } });
          renderKeys((await must(api.GET('/v1/api-keys'))).data);
        });
        return h(
          'tr',
          null,
          h('td', { text: k.name }),
          h('td', { class: 'mono', text: `${k.prefix}…` }),
          h('td', { text: k.scopes.join(' ') }),
          h('td', { text: k.revoked_at ? `revoked ${fmtTime(k.revoked_at)}` : fmtTime(k.last_used_at) }),
          h('td', null, revoke),
        );
      }),
    );
  renderKeys(keys.data);
  const keyName = h('input', { name: 'name', required: true, maxlength: '100' });
  const SCOPES = ['messages:write', 'messages:read', 'admin'] as const;
  const keyScope = h(
    'select',
    { name: 'scope' },
    SCOPES.map((s) => h('option', { value: s, text: s })),
  );
  const keyNote = note();
  const newKey = h(
    'form',
    { class: 'row', 'aria-label': 'New API key' },
    field('Name', keyName),
    field('Scope', keyScope),
    h('button', { class: 'btn', type: 'submit', text: 'Create key' }),
  );
  newKey.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api.POST('/v1/api-keys', { body: { name: keyName.value, scopes: [keyScope.value as (typeof SCOPES)[number]] } });
    if (!show(keyNote, r, '')) return;
    fill(keyNote, 'Copy the key now, it is not shown again: ', h('code', { text: r.data!.key }));
    renderKeys((await must(api.GET('/v1/api-keys'))).data);
  });

  fill(
    main,
    h('h1', { text: 'Settings' }),
    creds,
    test,
    policies,
    quiet,
    keywords,
    advancedForm,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'keys-title' },
      h('h2', { id: 'keys-title', text: 'API keys' }),
      dataTable(['Name', 'Prefix', 'Scopes', 'Last used', ''], keyRows),
      newKey,
      keyNote,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'hooks-title' },
      h('h2', { id: 'hooks-title', text: 'Webhook endpoints' }),
      endpoints.length
        ? h('ul', null, endpoints.map(endpointItem))
        : h('p', { class: 'muted', text: 'No webhook endpoints (POST /v1/webhook-endpoints adds one).' }),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'audit-title' },
      h('h2', { id: 'audit-title', text: 'Audit log' }),
      h(
        'ol',
        { class: 'timeline', testid: 'audit' },
        (audit.data ?? []).map((a) =>
          h('li', null, h('b', { text: a.action ?? '' }), ` · ${a.target ?? ''} · ${fmtTime(a.created_at)}`, a.on_behalf_of ? ` · as ${a.on_behalf_of}` : ''),
        ),
      ),
    ),
  );
  return undefined;
}

type Endpoint = NonNullable<NonNullable<Awaited<ReturnType<typeof listEndpoints>>['data']>['data']>[number];
const listEndpoints = () => api.GET('/v1/webhook-endpoints');

/** An endpoint, and its recent delivery attempts when unfolded (loaded then). */
function endpointItem(ep: Endpoint): HTMLLIElement {
  const attempts = h('ol', { class: 'timeline' });
  const details = h('details', null, h('summary', { text: 'Delivery attempts' }), attempts);
  details.addEventListener('toggle', async () => {
    if (!details.open || !ep.id) return;
    const r = await api.GET('/v1/webhook-endpoints/{id}/attempts', { params: { path: { id: ep.id }, query: { limit: 20 } } });
    if (r.error) {
      fill(attempts, h('li', { class: 'error', text: errorText(r.error) }));
      return;
    }
    const rows = (r.data.data ?? []).map((a) =>
      h(
        'li',
        null,
        h('b', { class: a.success ? '' : 'error', text: a.status_code === null || a.status_code === undefined ? 'no answer' : String(a.status_code) }),
        ` · ${a.latency_ms} ms · ${fmtTime(a.attempted_at)}`,
        a.error ? ` · ${a.error}` : '',
      ),
    );
    fill(attempts, rows.length ? rows : h('li', { class: 'muted', text: 'No attempts yet.' }));
  });
  return h(
    'li',
    null,
    h('span', { class: 'mono', text: ep.url ?? '' }),
    ` · ${(ep.event_types ?? []).join(', ') || 'all events'} · ${ep.enabled ? 'enabled' : `disabled (${ep.disabled_reason ?? 'by hand'})`}`,
    details,
  );
}

type Settings = Awaited<ReturnType<typeof loadSettings>>;
const loadSettings = () => must(api.GET('/v1/settings'));

const QUIET_CATEGORIES = ['transactional', 'marketing'] as const;

/** Quiet hours per category: on/off, the allowed window (start allowed, end not) and the US state rules. */
function quietHoursForm(current: NonNullable<Settings['quiet_hours']>): HTMLFormElement {
  const rows = QUIET_CATEGORIES.map((cat) => {
    const w = current[cat] as { start?: string; end?: string; state_rules?: boolean } | null | undefined;
    const on = h('input', { type: 'checkbox', name: `${cat}-on`, testid: `quiet-${cat}-on` });
    on.checked = !!w;
    const start = h('input', { type: 'time', name: `${cat}-start`, value: w?.start ?? '08:00', testid: `quiet-${cat}-start` });
    const end = h('input', { type: 'time', name: `${cat}-end`, value: w?.end ?? '21:00', testid: `quiet-${cat}-end` });
    const stateRules = h('input', { type: 'checkbox', name: `${cat}-state`, testid: `quiet-${cat}-state` });
    stateRules.checked = w?.state_rules ?? false;
    const sync = () => {
      for (const c of [start, end, stateRules]) c.disabled = !on.checked;
    };
    on.addEventListener('change', sync);
    sync();
    const fieldset = h(
      'fieldset',
      { class: 'row' },
      h('legend', { text: cat === 'marketing' ? 'Marketing' : 'Transactional' }),
      check(on, 'Only inside these hours'),
      field('From (allowed)', start),
      field('Until (not allowed)', end),
      check(stateRules, 'US state rules narrow it'),
    );
    const value = () => (on.checked ? { start: start.value, end: end.value, state_rules: stateRules.checked } : null);
    return { fieldset, cat, value };
  });
  const status = note();
  status.setAttribute('data-testid', 'quiet-status');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'quiet-title', testid: 'quiet-form' },
    h('h2', { id: 'quiet-title', text: 'Quiet hours' }),
    h('p', {
      class: 'muted',
      text: "Messages are sent only inside these hours in the recipient's local time; outside them they wait (never dropped). Verification codes are never held.",
    }),
    rows.map((r) => r.fieldset),
    h('button', { class: 'btn primary', type: 'submit', testid: 'quiet-save', text: 'Save quiet hours' }),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const quiet_hours = Object.fromEntries(rows.map((r) => [r.cat, r.value()]));
    show(status, await api.PATCH('/v1/settings', { body: { quiet_hours } }), 'Saved.');
  });
  return form;
}

function check(input: HTMLInputElement, label: string): HTMLElement {
  if (!input.id) input.id = `c-${input.name}`;
  return h('div', { class: 'field check' }, input, h('label', { for: input.id, text: label }));
}

const KINDS = [
  ['opt_out', 'Opt-out'],
  ['opt_in', 'Opt-in'],
  ['help', 'Help'],
] as const;

/** The keywords (comma-separated, whole-message and case-insensitive) and the reply to each, and who replies. */
function keywordsForm(settings: Settings): HTMLFormElement {
  const who = h(
    'select',
    { name: 'keyword_replies', testid: 'keyword-replies' },
    h('option', { value: 'provider', text: 'Twilio (its Advanced Opt-Out replies)' }),
    h('option', { value: 'relay', text: 'smsrelay (the replies below)' }),
  );
  who.value = settings.keyword_replies ?? 'provider';
  const kinds = KINDS.map(([kind, label]) => {
    const words = h('input', { name: `keywords-${kind}`, value: (settings.keywords?.[kind] ?? []).join(', '), testid: `keywords-${kind}` });
    const reply = h('textarea', { name: `reply-${kind}`, rows: '2', maxlength: '1600', testid: `reply-${kind}` });
    reply.value = settings.replies?.[kind] ?? '';
    return {
      kind,
      words,
      reply,
      fieldset: h('fieldset', null, h('legend', { text: label }), field('Keywords (comma-separated)', words), field('Reply', reply)),
    };
  });
  const status = note();
  status.setAttribute('data-testid', 'keywords-status');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'keywords-title', testid: 'keywords-form' },
    h('h2', { id: 'keywords-title', text: 'Keywords and replies' }),
    field('Who replies to keywords', who),
    kinds.map((k) => k.fieldset),
    h('button', { class: 'btn primary', type: 'submit', testid: 'keywords-save', text: 'Save keywords' }),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const list = (s: string) =>
      s
        .split(',')
        .map((w) => w.trim())
        .filter(Boolean);
    const body = {
      keyword_replies: who.value as 'provider' | 'relay',
      keywords: Object.fromEntries(kinds.map((k) => [k.kind, list(k.words.value)])),
      replies: Object.fromEntries(kinds.map((k) => [k.kind, k.reply.value])),
    };
    show(status, await api.PATCH('/v1/settings', { body }), 'Saved.');
  });
  return form;
}
