// The web inbox page at /emulator: the HTML shell; its script and style are the built files of
// web/inbox/ (see assets.ts), so nothing runs inline and nothing comes from another origin.

// An inline SVG favicon: without one the browser asks for /favicon.ico and logs a 404.
const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='8' fill='%232f6fed'/%3E%3Cpath d='M9 11h14v9h-8l-4 3v-3H9z' fill='white'/%3E%3C/svg%3E";

const LOGO =
  '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><path d="M2.5 3.5h11v7h-6l-3.5 2.5v-2.5h-1.5z" fill="none" stroke="#fff" stroke-width="1.6" stroke-linejoin="round"/></svg>';

/** The page, linking the hashed script and stylesheet. */
export const pageHtml = (script: string, style: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Inbox · smsrelay Twilio emulator</title>
<link rel="icon" href="${FAVICON}">
<link rel="stylesheet" href="${style}">
</head>
<body>
<header class="topbar">
  <div class="brand"><span class="brand-mark">${LOGO}</span>smsrelay <span class="brand-sub">Twilio emulator</span></div>
  <span class="chip mono" id="account" data-testid="account" title="Account SID"></span>
  <span class="spacer"></span>
  <button class="chip chaos-on hidden" id="chaos-badge" data-testid="chaos-badge" type="button" title="Chaos settings are active">Chaos on</button>
  <span class="chip hidden" id="callbacks-off" data-testid="callbacks-off" title="Status callbacks are not sent">Callbacks off</span>
  <span class="chip live" id="live" data-testid="live"><span class="live-dot"></span><span id="live-text">Connecting…</span></span>
  <button class="btn small" id="reset" data-testid="reset" type="button" title="Delete all messages, counts, opt-outs and verifications">Reset</button>
</header>
<main class="layout">
  <nav class="col sidebar" aria-label="Phones">
    <div class="side-title"><span>Your numbers</span></div>
    <ul class="nav" id="nav-owned" data-testid="nav-owned"></ul>
    <div class="side-title"><span>Handsets</span><span id="handset-count"></span></div>
    <ul class="nav" id="nav-handsets" data-testid="nav-handsets"></ul>
    <form class="new-handset" id="new-handset" data-testid="new-handset" autocomplete="off">
      <input class="field sm mono" id="new-handset-number" placeholder="+14155550123" aria-label="Open a handset by number">
      <button class="btn small" type="submit">Open</button>
    </form>
  </nav>
  <section class="col threads" aria-label="Conversations">
    <div class="threads-head" id="page-head"></div>
    <ul class="thread-list" id="thread-list" data-testid="thread-list"></ul>
  </section>
  <section class="center" aria-label="Conversation">
    <div class="phone" data-testid="phone">
      <div class="phone-head" id="phone-head"></div>
      <div class="messages" id="messages" data-testid="messages" aria-live="polite"></div>
      <form class="compose" id="compose" data-testid="compose" autocomplete="off">
        <div class="compose-route">
          <span>Text as handset</span>
          <input class="field mono" id="compose-from" data-testid="compose-from" placeholder="+14155552671" aria-label="From (handset number)">
          <span aria-hidden="true">→</span>
          <select class="field mono" id="compose-to" data-testid="compose-to" aria-label="To (your number)"></select>
        </div>
        <div class="compose-row">
          <textarea class="field" id="compose-body" data-testid="compose-body" rows="1" maxlength="1600" placeholder="Text message" aria-label="Message"></textarea>
          <button class="btn primary" id="compose-send" data-testid="compose-send" type="submit">Send</button>
        </div>
        <div class="compose-extra">
          <input class="field" id="compose-media" data-testid="compose-media" placeholder="Media URLs (optional, space-separated)" aria-label="Media URLs">
          <span class="muted" id="compose-count"></span>
        </div>
        <div class="compose-status" id="compose-status" data-testid="compose-status" role="status"></div>
      </form>
    </div>
  </section>
  <aside class="col inspector" aria-label="Details">
    <div class="tabs" role="tablist">
      <button class="tab active" id="tab-message" data-testid="tab-message" type="button" role="tab" aria-selected="true">Message</button>
      <button class="tab" id="tab-chaos" data-testid="tab-chaos" type="button" role="tab" aria-selected="false">Chaos</button>
    </div>
    <div class="pane" id="pane-message" data-testid="inspector" role="tabpanel"></div>
    <form class="pane hidden" id="pane-chaos" data-testid="chaos-panel" role="tabpanel" autocomplete="off" novalidate></form>
  </aside>
</main>
<script type="module" src="${script}"></script>
</body>
</html>
`;

/**
 * Only the page's own script and stylesheet may run; media thumbnails may come from anywhere over
 * http(s). Defence in depth on top of textContent-only rendering.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  'img-src http: https: data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
