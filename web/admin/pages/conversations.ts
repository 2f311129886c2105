// Conversations: the inbox (unread badges, needs-attention flag), a thread, and a reply box with
// the live segment/encoding counter. Opted-out threads say why replies are refused.
import { api, errorText, hasScope, type Message, must } from '../api.js';
import { fill, fmtTime, h } from '../../lib/dom.js';
import { segmentText } from '../../lib/segments.js';

export async function conversationsPage(main: HTMLElement, route: string[]): Promise<() => void> {
  const list = h('ul', { class: 'inbox', testid: 'inbox' });
  const thread = h('section', { class: 'thread', 'aria-label': 'Thread', testid: 'thread' });
  fill(main, h('h1', { text: 'Conversations' }), h('div', { class: 'split' }, h('nav', { 'aria-label': 'Inbox' }, list), thread));

  const openId = route[0] ?? null;
  async function loadList(): Promise<void> {
    const page = await must(api.GET('/v1/conversations', { params: { query: { limit: 100 } } }));
    const items = (page.data ?? []).map((c) =>
      h(
        'li',
        null,
        h(
          'a',
          {
            href: `#/conversations/${encodeURIComponent(c.id ?? '')}`,
            class: c.id === openId ? 'active' : '',
            'aria-current': c.id === openId ? 'true' : null,
            testid: 'conversation',
          },
          h('b', { text: c.contact ?? '' }),
          c.unread_count ? h('span', { class: 'badge', testid: 'unread', text: String(c.unread_count), 'aria-label': `${c.unread_count} unread` }) : null,
          c.needs_attention ? h('span', { class: 'tag warn', title: c.attention_reason ?? '', text: 'Needs attention' }) : null,
          c.status !== 'active' ? h('span', { class: 'tag bad', text: (c.status ?? '').replace('_', ' ') }) : null,
          h('small', { class: 'muted', text: `${c.our_number ?? ''} · ${fmtTime(c.last_message_at)}` }),
        ),
      ),
    );
    fill(list, items.length ? items : h('li', { class: 'muted', text: 'No conversations yet: they start when someone texts one of your numbers.' }));
  }
  await loadList();

  let lastSig = '';
  async function loadThread(): Promise<void> {
    if (!openId) {
      fill(thread, h('p', { class: 'muted', text: 'Choose a conversation.' }));
      return;
    }
    const [conv, msgs] = await Promise.all([
      must(api.GET('/v1/conversations/{id}', { params: { path: { id: openId } } })),
      must(api.GET('/v1/conversations/{id}/messages', { params: { path: { id: openId }, query: { limit: 100 } } })),
    ]);
    const sig = JSON.stringify([conv, msgs.data]);
    if (sig === lastSig) return;
    lastSig = sig;
    if (conv.unread_count) void api.POST('/v1/conversations/{id}/read', { params: { path: { id: openId } } }).then(loadList);
    const messages = [...(msgs.data ?? [])].reverse();
    const bubbles = h('ol', { class: 'bubbles', testid: 'bubbles', 'aria-live': 'polite' }, messages.map(bubble));
    const blocked = conv.status === 'opted_out' || conv.status === 'blocked';
    const children = [
      h('h2', { testid: 'thread-title', text: conv.contact ?? '' }),
      h('p', { class: 'muted', text: `Your number ${conv.our_number ?? ''}` }),
      blocked
        ? h('p', {
            class: 'error',
            role: 'note',
            testid: 'opted-out-note',
            text:
              conv.status === 'opted_out'
                ? 'This contact opted out (STOP): replies are refused until they text START or are opted in again (Contacts).'
                : 'This conversation is blocked: replies are refused.',
          })
        : null,
      bubbles,
      hasScope('messages:write') && !blocked ? replyBox(openId, () => void loadThread()) : null,
    ];
    // Keep a reply being typed: only the bubbles change on a refresh.
    const existing = thread.querySelector('form.reply');
    if (existing && children[4]) {
      thread.querySelector('ol.bubbles')?.replaceWith(bubbles);
      return;
    }
    fill(thread, children);
    bubbles.lastElementChild?.scrollIntoView({ block: 'nearest' });
  }
  await loadThread();
  const timer = setInterval(() => {
    if (!document.hidden) void loadThread().catch(() => undefined);
  }, 2000);
  return () => clearInterval(timer);
}

function bubble(m: Message): HTMLLIElement {
  return h(
    'li',
    { class: `bubble ${m.direction === 'inbound' ? 'theirs' : 'mine'}`, testid: 'bubble', 'data-status': m.status },
    h('span', { class: 'text', text: m.body ?? '(media)' }),
    h('small', { class: 'muted', text: `${m.direction === 'inbound' ? 'received' : m.status} · ${fmtTime(m.created_at)}` }),
  );
}

function replyBox(id: string, onSent: () => void): HTMLFormElement {
  const text = h('textarea', { id: 'reply-body', rows: '2', maxlength: '1600', required: true, testid: 'reply-body' });
  const counter = h('small', { class: 'muted', 'aria-live': 'polite', testid: 'reply-counter', text: segmentText('') });
  const status = h('p', { role: 'status', testid: 'reply-status' });
  text.addEventListener('input', () => {
    counter.textContent = segmentText(text.value);
  });
  const form = h(
    'form',
    { class: 'reply', testid: 'reply-form' },
    h('label', { for: 'reply-body', text: 'Reply' }),
    text,
    h('div', { class: 'row' }, counter, h('button', { class: 'btn primary', type: 'submit', testid: 'reply-send', text: 'Send reply' })),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api.POST('/v1/conversations/{id}/messages', { params: { path: { id }, header: {} }, body: { body: text.value } });
    if (r.error) {
      status.className = 'error';
      status.textContent = errorText(r.error);
      return;
    }
    status.className = '';
    status.textContent = 'Sent.';
    text.value = '';
    counter.textContent = segmentText('');
    onSent();
  });
  return form;
}
