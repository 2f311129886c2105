// The admin console (/admin): sign-in, the page shell (navigation, tenant switch, sign-out) and a
// hash router over the pages. Every page calls the /v1 API through the typed client (api.ts).
import { api, errorText, hasScope, must, onSignedOutDo, state, switchTenant } from './api.js';
import { fill, h } from '../lib/dom.js';
import { dashboardPage } from './pages/dashboard.js';
import { messagesPage } from './pages/messages.js';
import { conversationsPage } from './pages/conversations.js';
import { contactsPage } from './pages/contacts.js';
import { templatesPage } from './pages/templates.js';
import { campaignsPage } from './pages/campaigns.js';
import { verificationsPage } from './pages/verifications.js';
import { settingsPage } from './pages/settings.js';

/** A page renders into `main` and returns a cleanup (timers, charts) run when it is left. */
export type Page = (main: HTMLElement, route: string[]) => Promise<(() => void) | undefined> | (() => void) | undefined;

const PAGES: { path: string; title: string; page: Page }[] = [
  { path: 'dashboard', title: 'Dashboard', page: dashboardPage },
  { path: 'messages', title: 'Messages', page: messagesPage },
  { path: 'conversations', title: 'Conversations', page: conversationsPage },
  { path: 'contacts', title: 'Contacts', page: contactsPage },
  { path: 'templates', title: 'Templates', page: templatesPage },
  { path: 'campaigns', title: 'Campaigns', page: campaignsPage },
  { path: 'verifications', title: 'Verifications', page: verificationsPage },
  { path: 'settings', title: 'Settings', page: settingsPage },
];

const app = document.getElementById('app')!;
let cleanup: (() => void) | undefined;
let visits = 0;

function signInForm(note?: string): void {
  cleanup?.();
  cleanup = undefined;
  document.title = 'Sign in · smsrelay console';
  const key = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'current-password', required: true, testid: 'signin-key' });
  const status = h('p', { class: 'status', role: 'status', testid: 'signin-status', text: note ?? '' });
  const form = h(
    'form',
    { class: 'card signin', testid: 'signin-form' },
    h('h1', { text: 'smsrelay console' }),
    h('p', { class: 'muted', text: 'Sign in with an API key (or the initial platform key). It is exchanged for a session; the browser does not keep it.' }),
    h('div', { class: 'field' }, h('label', { for: 'key', text: 'API key' }), key),
    h('button', { class: 'btn primary', type: 'submit', testid: 'signin-submit', text: 'Sign in' }),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = 'Signing in…';
    const r = await api.POST('/admin/session', { body: { key: key.value } });
    key.value = '';
    if (r.error) {
      status.textContent = errorText(r.error);
      return;
    }
    state.session = r.data;
    switchTenant(null);
    location.hash = '#/dashboard';
    await shell();
  });
  fill(app, h('main', { class: 'signin-wrap' }, form));
  app.className = '';
  key.focus();
}

async function shell(): Promise<void> {
  const s = state.session!;
  const nav = h(
    'nav',
    { class: 'nav', 'aria-label': 'Console' },
    h(
      'ul',
      null,
      PAGES.map((p) => h('li', null, h('a', { href: `#/${p.path}`, 'data-page': p.path, testid: `nav-${p.path}`, text: p.title }))),
    ),
  );
  const tenantLabel = h('span', { class: 'tenant', testid: 'tenant', text: state.tenant ?? s.tenant.slug });
  let tenantPicker: HTMLElement | null = null;
  if (hasScope('tenants:admin')) {
    // A platform admin looks at any tenant: the API's Smsrelay-Tenant header.
    const select = h('select', { id: 'tenant-switch', testid: 'tenant-switch' });
    const tenants = await must(api.GET('/v1/tenants', { params: { query: { limit: 200 } } })).catch(() => ({ data: [] }));
    for (const t of tenants.data ?? []) {
      const o = h('option', { value: t.slug, text: t.name ? `${t.name} (${t.slug})` : t.slug });
      o.selected = t.slug === (state.tenant ?? s.tenant.slug);
      select.append(o);
    }
    select.addEventListener('change', () => {
      switchTenant(select.value === s.tenant.slug ? null : select.value);
      tenantLabel.textContent = select.value;
      void route();
    });
    tenantPicker = h('span', { class: 'tenant-switch' }, h('label', { for: 'tenant-switch', text: 'Tenant' }), select);
  }
  const signOut = h('button', { class: 'btn small', type: 'button', testid: 'signout', text: 'Sign out' });
  signOut.addEventListener('click', async () => {
    await api.DELETE('/admin/session');
    state.session = null;
    switchTenant(null);
    signInForm('Signed out.');
  });
  const main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  fill(
    app,
    h('a', { class: 'skip', href: '#main', text: 'Skip to content' }),
    h('header', { class: 'topbar' }, h('span', { class: 'brand', text: 'smsrelay' }), tenantPicker ?? tenantLabel, h('span', { class: 'spacer' }), signOut),
    h('div', { class: 'layout' }, nav, main),
  );
  app.className = '';
  await route();
}

async function route(): Promise<void> {
  if (!state.session) return;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const p = PAGES.find((x) => x.path === parts[0]) ?? PAGES[0]!;
  const main = document.getElementById('main');
  if (!main) return;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (a.dataset.page === p.path) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  cleanup?.();
  cleanup = undefined;
  document.title = `${p.title} · smsrelay console`;
  // Each visit renders into its own container: a page still loading when the user moves on
  // writes into a detached node, never over the next page.
  const view = h('div', null, h('p', { class: 'muted', text: 'Loading…' }));
  fill(main, view);
  const generation = ++visits;
  try {
    const done = (await p.page(view, parts.slice(1))) ?? undefined;
    if (generation === visits) cleanup = done;
    else done?.();
  } catch (e) {
    fill(view, h('h1', { text: p.title }), h('p', { class: 'error', role: 'alert', text: errorText(e) }));
  }
}

onSignedOutDo(() => signInForm('Your session ended: sign in again.'));
window.addEventListener('hashchange', () => void route());

async function boot(): Promise<void> {
  const r = await api.GET('/admin/session');
  if (r.data) {
    state.session = r.data;
    await shell();
  } else signInForm();
}
void boot();
