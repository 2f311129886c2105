// Templates: the list, an editor (one Liquid source per locale) that saves a new version, a
// preview through POST /v1/templates/:name/preview (segments, encoding, the characters that force
// UCS-2, the smart-encoding difference, the estimated price), and the versions.
import { api, errorText, hasScope, must } from '../api.js';
import { field, fill, fmtTime, h, options } from '../../lib/dom.js';
import { segmentText } from '../../lib/segments.js';

type Preview = NonNullable<Awaited<ReturnType<typeof preview>>['data']>;
const preview = (name: string, variables: Record<string, unknown>, to: string | null) =>
  api.POST('/v1/templates/{name}/preview', { params: { path: { name } }, body: { variables, to } });

export async function templatesPage(main: HTMLElement, route: string[]): Promise<undefined> {
  const list = await must(api.GET('/v1/templates', { params: { query: { limit: 200 } } }));
  const current = route[0] ? (list.data ?? []).find((t) => t.name === route[0]) : undefined;

  const name = h('input', { name: 'name', required: true, maxlength: '64', pattern: '[a-z0-9][a-z0-9_\\-]*', testid: 'tpl-name', value: current?.name ?? '' });
  if (current) name.readOnly = true;
  const category = h('select', { name: 'category', testid: 'tpl-category' }, options(['transactional', 'marketing'], current?.category ?? 'transactional'));
  const locale = h('input', { name: 'locale', required: true, maxlength: '35', testid: 'tpl-locale', value: current?.default_locale ?? 'en' });
  const source = h('textarea', { name: 'source', rows: '4', required: true, testid: 'tpl-source' });
  source.value = current ? (current.locales?.[current.default_locale ?? ''] ?? '') : 'Hi {{ name }}, your code is {{ code }}.';
  const counter = h('small', { class: 'muted', 'aria-live': 'polite', text: `${segmentText(source.value)} (before variables)` });
  // Another locale of the template: its own text (empty for a new one).
  locale.addEventListener('change', () => {
    if (!current) return;
    source.value = current.locales?.[locale.value] ?? '';
    counter.textContent = `${segmentText(source.value)} (before variables)`;
  });
  source.addEventListener('input', () => {
    counter.textContent = `${segmentText(source.value)} (before variables)`;
  });
  const saved = h('p', { role: 'status', testid: 'tpl-status' });
  const editor = h(
    'form',
    { class: 'card', 'aria-labelledby': 'tpl-title', testid: 'tpl-form' },
    h('h2', { id: 'tpl-title', text: current ? `Edit ${current.name} (v${current.version})` : 'New template' }),
    h(
      'div',
      { class: 'row' },
      field('Name', name, 'lowercase letters, digits, - and _'),
      field('Category', category),
      field('Locale', locale, current ? `locales: ${Object.keys(current.locales ?? {}).join(', ')}` : undefined),
    ),
    field('Text (Liquid)', source),
    counter,
    hasScope('templates:write')
      ? h('button', { class: 'btn primary', type: 'submit', testid: 'tpl-save', text: current ? 'Save new version' : 'Create' })
      : null,
    saved,
  );
  editor.addEventListener('submit', async (e) => {
    e.preventDefault();
    // A new version keeps the other locales: only the one edited here changes.
    const locales = { ...(current?.locales ?? {}), [locale.value]: source.value };
    const body = { category: category.value as 'transactional' | 'marketing', default_locale: current?.default_locale ?? locale.value, locales };
    const r = current
      ? await api.PUT('/v1/templates/{name}', { params: { path: { name: current.name ?? '' } }, body })
      : await api.POST('/v1/templates', { body: { ...body, name: name.value } });
    if (r.error) {
      saved.className = 'error';
      saved.textContent = errorText(r.error);
      return;
    }
    saved.className = '';
    saved.textContent = `Saved version ${r.data.version}.`;
    if (!current) location.hash = `#/templates/${encodeURIComponent(r.data.name ?? '')}`;
    else window.dispatchEvent(new HashChangeEvent('hashchange'));
  });

  const vars = h('textarea', { name: 'variables', rows: '2', testid: 'preview-vars' });
  vars.value = '{"name": "Ana", "code": "123456"}';
  const to = h('input', { name: 'to', inputmode: 'tel', placeholder: '+14155552671 (for the price)', testid: 'preview-to' });
  const out = h('div', { class: 'preview', 'aria-live': 'polite', testid: 'preview-out' });
  const previewForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'preview-title', testid: 'preview-form' },
    h('h2', { id: 'preview-title', text: 'Preview' }),
    field('Variables (JSON)', vars),
    field('To (optional)', to),
    h('button', { class: 'btn', type: 'submit', testid: 'preview-run', text: 'Preview' }),
    out,
  );
  previewForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!current) {
      fill(out, h('p', { class: 'muted', text: 'Save the template first.' }));
      return;
    }
    let variables: Record<string, unknown>;
    try {
      variables = JSON.parse(vars.value || '{}') as Record<string, unknown>;
    } catch {
      fill(out, h('p', { class: 'error', text: 'The variables are not valid JSON.' }));
      return;
    }
    const r = await preview(current.name ?? '', variables, to.value.trim() || null);
    fill(out, r.error ? h('p', { class: 'error', text: errorText(r.error) }) : previewView(r.data));
  });

  const versions = current
    ? await must(api.GET('/v1/templates/{name}/versions', { params: { path: { name: current.name ?? '' }, query: { limit: 20 } } }))
    : { data: [] };

  fill(
    main,
    h('h1', { text: 'Templates' }),
    h(
      'div',
      { class: 'split' },
      h(
        'nav',
        { 'aria-label': 'Templates' },
        h(
          'ul',
          { class: 'inbox', testid: 'tpl-list' },
          h('li', null, h('a', { href: '#/templates', text: '+ New template' })),
          (list.data ?? []).map((t) =>
            h(
              'li',
              null,
              h('a', {
                href: `#/templates/${encodeURIComponent(t.name ?? '')}`,
                'aria-current': t.name === current?.name ? 'page' : null,
                text: `${t.name} (v${t.version})`,
              }),
            ),
          ),
        ),
      ),
      h(
        'div',
        null,
        editor,
        current ? previewForm : null,
        current
          ? h(
              'section',
              { class: 'card', 'aria-labelledby': 'versions-title' },
              h('h2', { id: 'versions-title', text: 'Versions' }),
              h(
                'ol',
                { class: 'timeline', testid: 'tpl-versions' },
                (versions.data ?? []).map((v) =>
                  h(
                    'li',
                    null,
                    h('b', { text: `v${v.version}` }),
                    ` · ${fmtTime(v.created_at)} · `,
                    h('span', { class: 'mono', text: Object.values(v.locales ?? {})[0] ?? '' }),
                  ),
                ),
              ),
            )
          : null,
      ),
    ),
  );
  return undefined;
}

function previewView(p: Preview): HTMLElement {
  const ucs2 = new Set((p.ucs2_characters ?? []).map((c) => c.index));
  // The rendered text with the characters that force UCS-2 marked (built as nodes, not HTML).
  const text = h('p', { class: 'body-box', testid: 'preview-text' });
  const s = p.text ?? '';
  for (let i = 0; i < s.length; ) {
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    text.append(ucs2.has(i) ? h('mark', { title: `U+${cp.toString(16).toUpperCase()} forces UCS-2`, text: ch }) : ch);
    i += ch.length;
  }
  return h(
    'div',
    null,
    text,
    h('p', { testid: 'preview-segments', text: `${p.segments} segment${p.segments === 1 ? '' : 's'} · ${p.encoding} · ${p.characters} characters` }),
    p.smart_encoded?.changed
      ? h('p', { class: 'muted', text: `With smart encoding: ${p.smart_encoded.segments} segment(s), ${p.smart_encoded.encoding}` })
      : null,
    p.price
      ? h('p', { testid: 'preview-price', text: `Estimated price: ${p.price.amount} ${p.price.unit}${p.price.country ? ` (${p.price.country})` : ''}` })
      : null,
    p.send?.error ? h('p', { class: 'error', text: `A send would fail: ${p.send.error.message} (${p.send.error.code})` }) : null,
    (p.warnings ?? []).map((w) => h('p', { class: 'warn', text: w })),
  );
}
