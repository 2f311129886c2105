// DOM building for the console: data reaches the page only through textContent and attributes,
// never innerHTML (message bodies and names are untrusted). No inline style attributes either:
// the page's CSP allows only its stylesheet.

export type Child = Node | string | number | null | undefined | false | Child[];
export type Props = Record<string, unknown> | null;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = String(v);
      else if (k === 'text') node.textContent = String(v);
      else if (k === 'testid') node.setAttribute('data-testid', String(v));
      else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v as EventListener);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  add(node, children);
  return node;
}

function add(node: Element, c: Child): void {
  if (c === null || c === undefined || c === false) return;
  if (Array.isArray(c)) for (const x of c) add(node, x);
  else node.append(typeof c === 'object' ? c : String(c));
}

/** Replaces a node's children (skips null/false, flattens arrays). */
export function fill(node: Element, ...children: Child[]): void {
  node.replaceChildren();
  add(node, children);
}

let ids = 0;
/** A labelled form field: the label is tied to the control for screen readers. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLDivElement {
  if (!control.id) control.id = `f${++ids}`;
  const hintEl = hint ? h('small', { class: 'hint', id: `${control.id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control, hintEl);
}

/**
 * A data table in its sideways-scrolling wrapper: an optional caption, the column headings, then the
 * body (a tbody the caller fills later, or rows). `wrap` adds attributes to the wrapper.
 */
export function dataTable(
  heads: readonly string[],
  body: HTMLTableSectionElement | Child[],
  opts: { testid?: string; caption?: HTMLTableCaptionElement; wrap?: Props } = {},
): HTMLDivElement {
  return h(
    'div',
    { ...opts.wrap, class: 'table-wrap' },
    h(
      'table',
      { class: 'table', testid: opts.testid },
      opts.caption ?? null,
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          heads.map((c) => h('th', { scope: 'col', text: c })),
        ),
      ),
      Array.isArray(body) ? h('tbody', null, body) : body,
    ),
  );
}

export function options(values: readonly string[], selected?: string | null, labels?: Record<string, string>): HTMLOptionElement[] {
  return values.map((v) => {
    const o = h('option', { value: v, text: labels?.[v] ?? (v || 'Any') });
    if (v === selected) o.selected = true;
    return o;
  });
}

export const fmtTime = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');
export const fmtNumber = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : n.toLocaleString());
export const fmtPercent = (r: number | null | undefined): string => (r === null || r === undefined ? '—' : `${(r * 100).toFixed(1)} %`);
