// Stylesheet of the web inbox: system fonts only, no external assets (the page must work offline).
export const STYLE = `
:root {
  --bg: #f4f5f7; --panel: #fff; --line: #e3e5e8; --line-strong: #d0d4d9;
  --text: #1d2330; --muted: #667085; --faint: #98a2b3;
  --accent: #2f6fed; --accent-soft: #e8effd; --accent-text: #1f4fb8;
  --ok: #12805c; --ok-soft: #e3f5ec; --warn: #b45309; --warn-soft: #fdf0dc; --bad: #c4281c; --bad-soft: #fdecea;
  --mine: #2f6fed; --theirs: #e9ebef;
  --radius: 10px;
  --font: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", sans-serif;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
html, body { height: 100%; }
body { margin: 0; font: 14px/1.45 var(--font); color: var(--text); background: var(--bg); display: grid; grid-template-rows: 52px minmax(0, 1fr); overflow: hidden; }
button, input, select, textarea { font: inherit; color: inherit; }
button { cursor: pointer; }
.mono { font-family: var(--mono); font-size: 12.5px; }
.muted { color: var(--muted); }
.hidden { display: none !important; }

/* Top bar */
.topbar { display: flex; align-items: center; gap: 14px; padding: 0 18px; background: #141a26; color: #e8ebf1; }
.brand { display: flex; align-items: center; gap: 10px; font-weight: 650; font-size: 15px; letter-spacing: .1px; }
.brand-mark { width: 26px; height: 26px; border-radius: 7px; background: linear-gradient(135deg, #3d7bff, #7a5cff); display: grid; place-items: center; }
.brand-sub { color: #98a2b3; font-weight: 500; }
.topbar .spacer { flex: 1; }
.chip { display: inline-flex; align-items: center; gap: 6px; padding: 3px 9px; border-radius: 999px; font-size: 12px; background: rgba(255,255,255,.08); color: #c9cfda; white-space: nowrap; }
.live-dot { width: 8px; height: 8px; border-radius: 50%; background: #4ade80; box-shadow: 0 0 0 3px rgba(74,222,128,.18); }
.live.off .live-dot { background: #f87171; box-shadow: 0 0 0 3px rgba(248,113,113,.2); }
.chip.chaos-on { background: #fbbf24; color: #3b2600; font-weight: 600; cursor: pointer; border: 0; }
.btn { border: 1px solid var(--line-strong); background: var(--panel); border-radius: 8px; padding: 6px 12px; font-weight: 550; }
.btn:hover { background: #f7f8fa; }
.btn:disabled { opacity: .55; cursor: default; }
.btn.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
.btn.primary:hover { background: #255fd4; }
.btn.danger { color: var(--bad); }
.btn.small { padding: 3px 9px; font-size: 12.5px; }
.topbar .btn { background: transparent; color: #e8ebf1; border-color: rgba(255,255,255,.22); }
.topbar .btn:hover { background: rgba(255,255,255,.08); }

/* Columns */
.layout { display: grid; grid-template-columns: 232px 232px minmax(380px, 1fr) 350px; min-height: 0; }
.col { min-height: 0; overflow: auto; }
.sidebar { background: #fbfbfc; border-right: 1px solid var(--line); padding: 14px 10px; }
.threads { background: var(--panel); border-right: 1px solid var(--line); display: flex; flex-direction: column; }
.center { display: flex; justify-content: center; padding: 18px 20px; overflow: hidden; }
.inspector { background: var(--panel); border-left: 1px solid var(--line); display: flex; flex-direction: column; }
@media (max-width: 1180px) { .layout { grid-template-columns: 210px 210px minmax(360px, 1fr) 0; } .inspector { display: none; } }

/* Sidebar */
.side-title { display: flex; justify-content: space-between; align-items: baseline; margin: 8px 8px 6px; font-size: 11.5px; font-weight: 650; letter-spacing: .6px; text-transform: uppercase; color: var(--muted); }
.side-title span:last-child { text-transform: none; letter-spacing: 0; font-weight: 500; color: var(--faint); }
.nav { list-style: none; margin: 0 0 14px; padding: 0; }
.nav a { display: flex; align-items: center; gap: 10px; padding: 7px 8px; border-radius: 8px; text-decoration: none; color: inherit; }
.nav a:hover { background: #f0f2f5; }
.nav a.active { background: var(--accent-soft); }
.nav a.active .nav-num { color: var(--accent-text); }
.nav-text { min-width: 0; flex: 1; }
.nav-num { display: block; font-weight: 600; font-variant-numeric: tabular-nums; }
.nav-sub { display: block; color: var(--muted); font-size: 12.5px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.count { min-width: 20px; padding: 0 6px; border-radius: 999px; background: #eceef2; color: var(--muted); font-size: 11.5px; text-align: center; font-weight: 600; }
.avatar { flex: none; width: 32px; height: 32px; border-radius: 50%; display: grid; place-items: center; font-size: 11.5px; font-weight: 700; color: #fff; }
.avatar.owned { background: linear-gradient(135deg, #3d7bff, #7a5cff); }
.avatar.handset { background: linear-gradient(135deg, #18a57b, #0f7f8f); }
.avatar.small { width: 26px; height: 26px; font-size: 10px; }
.new-handset { display: flex; gap: 6px; margin: 4px 4px 0; }
.new-handset input { flex: 1; min-width: 0; }
.empty-note { margin: 2px 8px 12px; color: var(--faint); font-size: 12.5px; }

/* Inputs */
.field { border: 1px solid var(--line-strong); border-radius: 8px; padding: 6px 9px; background: #fff; outline: none; }
.field:focus { border-color: var(--accent); box-shadow: 0 0 0 3px rgba(47,111,237,.15); }
.field.num { width: 58px; }
.field.num.wide { width: 72px; }

/* Thread list */
.threads-head { padding: 16px 14px 10px; border-bottom: 1px solid var(--line); }
.threads-head h1 { margin: 0; font-size: 17px; font-variant-numeric: tabular-nums; }
.threads-head .kind { font-size: 12px; color: var(--muted); }
.threads-head .hook { margin-top: 8px; font-size: 12px; color: var(--muted); word-break: break-all; }
.thread-list { list-style: none; margin: 0; padding: 6px; overflow: auto; flex: 1; }
.thread-list a { display: flex; gap: 10px; align-items: center; padding: 8px; border-radius: 8px; text-decoration: none; color: inherit; }
.thread-list a:hover { background: #f4f5f7; }
.thread-list a.active { background: var(--accent-soft); }
.thread-top { display: flex; justify-content: space-between; gap: 6px; }
.thread-top b { font-weight: 600; font-variant-numeric: tabular-nums; }
.thread-top time { color: var(--faint); font-size: 11.5px; white-space: nowrap; }
.nav-sub .tag { margin-right: 5px; padding: 0 6px; font-size: 10.5px; }

/* Phone */
.phone { width: 100%; max-width: 470px; height: 100%; display: flex; flex-direction: column; background: var(--panel); border: 1px solid var(--line); border-radius: 22px; box-shadow: 0 1px 2px rgba(16,24,40,.04), 0 12px 32px -12px rgba(16,24,40,.18); overflow: hidden; }
.phone-head { display: flex; align-items: center; gap: 10px; padding: 12px 16px; border-bottom: 1px solid var(--line); background: #fcfcfd; }
.phone-head .who { flex: 1; min-width: 0; }
.phone-head b { display: block; font-variant-numeric: tabular-nums; }
.phone-head small { color: var(--muted); }
.tag { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 11.5px; font-weight: 600; background: #eef0f3; color: var(--muted); }
.tag.bad { background: var(--bad-soft); color: var(--bad); }
.tag.ok { background: var(--ok-soft); color: var(--ok); }
.tag.warn { background: var(--warn-soft); color: var(--warn); }
.tag.accent { background: var(--accent-soft); color: var(--accent-text); }
.messages { flex: 1; overflow: auto; padding: 14px 14px 8px; background: #f7f8fa; }
.day { text-align: center; margin: 10px 0; font-size: 11.5px; color: var(--faint); font-weight: 600; }
.empty { height: 100%; display: grid; place-items: center; text-align: center; color: var(--muted); padding: 30px; }
.empty b { display: block; color: var(--text); margin-bottom: 4px; }
.msg { display: flex; flex-direction: column; margin: 6px 0 12px; max-width: 82%; cursor: pointer; }
.msg.mine { margin-left: auto; align-items: flex-end; }
.msg.theirs { margin-right: auto; align-items: flex-start; }
.source { font-size: 11px; color: var(--faint); margin: 0 6px 2px; font-weight: 600; letter-spacing: .2px; }
.bubble { padding: 8px 12px; border-radius: 18px; white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; }
.mine .bubble { background: var(--mine); color: #fff; border-bottom-right-radius: 5px; }
.theirs .bubble { background: var(--theirs); border-bottom-left-radius: 5px; }
.msg.failed .bubble { background: #fff; color: var(--text); border: 1.5px solid #f3a29b; }
.msg.selected .bubble { box-shadow: 0 0 0 3px rgba(47,111,237,.28); }
.msg.theirs.selected .bubble { box-shadow: 0 0 0 3px rgba(102,112,133,.25); }
.bubble .media { display: flex; flex-wrap: wrap; gap: 6px; margin: 2px 0 4px; }
.bubble .media img { width: 120px; height: 90px; object-fit: cover; border-radius: 10px; background: rgba(0,0,0,.08); display: block; }
.bubble .media a.file { display: inline-block; padding: 4px 8px; border-radius: 8px; background: rgba(0,0,0,.08); color: inherit; font-size: 12px; }
.meta { display: flex; flex-wrap: wrap; align-items: center; justify-content: flex-end; gap: 4px 8px; margin: 3px 6px 0; font-size: 11.5px; color: var(--muted); }
.theirs .meta { justify-content: flex-start; }
.status { display: inline-flex; align-items: center; gap: 3px; font-weight: 600; }
.status svg { width: 15px; height: 15px; }
.status.delivered, .status.received { color: var(--accent); }
.status.sent { color: var(--muted); }
.status.failed, .status.undelivered { color: var(--bad); }
.status.pending { color: var(--faint); }
.hook-chip { display: inline-flex; gap: 3px; align-items: center; padding: 0 6px; border-radius: 6px; font-family: var(--mono); font-size: 10.5px; background: var(--ok-soft); color: var(--ok); }
.hook-chip.bad { background: var(--bad-soft); color: var(--bad); }
.hook-chip.warn { background: var(--warn-soft); color: var(--warn); }
.err-line { font-size: 11.5px; color: var(--bad); margin: 2px 6px 0; }

/* Compose */
.compose { border-top: 1px solid var(--line); padding: 10px 12px 12px; background: #fff; }
.compose-route { display: flex; align-items: center; gap: 8px; margin-bottom: 8px; font-size: 12.5px; color: var(--muted); white-space: nowrap; }
.compose-route .field { padding: 4px 8px; font-size: 13px; }
.compose-route input { width: 140px; }
.compose-route select { min-width: 0; flex: 1; }
.compose-route input[readonly] { background: #f4f5f7; color: var(--muted); }
.compose-row { display: flex; gap: 8px; align-items: flex-end; }
.compose-row textarea { flex: 1; resize: none; min-height: 40px; max-height: 140px; border-radius: 20px; padding: 9px 14px; }
.compose-row .btn { border-radius: 20px; padding: 9px 16px; }
.compose-extra { display: flex; align-items: center; gap: 8px; margin-top: 8px; }
.compose-extra input { flex: 1; font-size: 12.5px; padding: 4px 8px; }
.compose-extra .muted { font-size: 12px; white-space: nowrap; }
.compose-status { min-height: 18px; margin-top: 6px; font-size: 12px; color: var(--muted); }
.compose-status.bad { color: var(--bad); }

/* Inspector */
.tabs { display: flex; gap: 4px; padding: 10px 12px 0; border-bottom: 1px solid var(--line); }
.tab { border: 0; background: none; padding: 8px 10px; border-bottom: 2px solid transparent; color: var(--muted); font-weight: 600; }
.tab.active { color: var(--text); border-bottom-color: var(--accent); }
.tab .dot { display: inline-block; width: 7px; height: 7px; border-radius: 50%; background: #f59e0b; margin-left: 5px; vertical-align: 1px; }
.pane { padding: 14px 16px 20px; overflow: auto; flex: 1; }
.pane .row { display: flex; align-items: center; gap: 8px; margin-bottom: 10px; flex-wrap: wrap; font-size: 13px; }
.pane h3 { margin: 18px 0 8px; font-size: 11.5px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); }
.pane h3:first-child { margin-top: 0; }
.kv { display: grid; grid-template-columns: 96px 1fr; gap: 5px 10px; margin: 0; font-size: 13px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; min-width: 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
.body-box { background: #f7f8fa; border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; }
.timeline { list-style: none; margin: 0; padding: 0 0 0 4px; }
.timeline li { position: relative; padding: 0 0 10px 18px; font-size: 13px; }
.timeline li::before { content: ""; position: absolute; left: 0; top: 5px; width: 9px; height: 9px; border-radius: 50%; background: var(--accent); }
.timeline li::after { content: ""; position: absolute; left: 4px; top: 15px; bottom: -1px; width: 1px; background: var(--line-strong); }
.timeline li:last-child::after { display: none; }
.timeline li.bad::before { background: var(--bad); }
.timeline .when { color: var(--muted); font-variant-numeric: tabular-nums; font-size: 12px; }
.hooks { width: 100%; border-collapse: collapse; font-size: 12.5px; }
.hooks td { padding: 6px 4px; border-top: 1px solid var(--line); vertical-align: top; }
.hooks .url { color: var(--muted); font-size: 11.5px; word-break: break-all; }
.code { display: inline-block; min-width: 34px; text-align: center; padding: 0 5px; border-radius: 6px; font-family: var(--mono); font-size: 12px; font-weight: 600; background: var(--ok-soft); color: var(--ok); }
.code.bad { background: var(--bad-soft); color: var(--bad); }
.placeholder { color: var(--muted); padding: 30px 6px; text-align: center; }

/* Chaos */
.hint { margin: 0 0 10px; font-size: 12.5px; color: var(--muted); }
.chaos-sec { padding-bottom: 10px; margin-bottom: 14px; border-bottom: 1px solid var(--line); }
.line { display: grid; grid-template-columns: 84px 1fr; align-items: center; gap: 8px; margin: 7px 0; font-size: 13px; }
.line-label { font-weight: 550; }
.line-ctl { display: flex; align-items: center; gap: 6px; flex-wrap: wrap; }
.unit { color: var(--muted); font-size: 12.5px; }
.field.sm { padding: 3px 6px; font-size: 12.5px; }
.rule { border: 1px solid var(--line); border-radius: 8px; padding: 6px 8px; margin-bottom: 8px; background: #fbfbfc; }
.rule-head { display: flex; justify-content: space-between; align-items: center; font-weight: 600; }
.rule-body { display: flex; align-items: center; gap: 6px; margin-top: 5px; }
.icon-btn { border: 0; background: none; color: var(--muted); padding: 0 4px; font-size: 13px; border-radius: 4px; }
.icon-btn:hover { background: var(--bad-soft); color: var(--bad); }
details.eps { margin: -2px 0 8px 92px; font-size: 12px; }
details.eps summary { cursor: pointer; color: var(--accent-text); }
.endpoints { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 6px; }
.endpoints label { display: inline-flex; align-items: center; gap: 3px; padding: 1px 6px; border: 1px solid var(--line); border-radius: 6px; font-size: 11px; font-family: var(--mono); }
.switch { display: inline-flex; align-items: center; gap: 8px; font-weight: 600; cursor: pointer; }
input.toggle { appearance: none; margin: 0; width: 34px; height: 20px; border-radius: 999px; background: #cfd4dc; position: relative; cursor: pointer; transition: background .15s; }
input.toggle::after { content: ""; position: absolute; top: 2px; left: 2px; width: 16px; height: 16px; border-radius: 50%; background: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.25); transition: left .15s; }
input.toggle:checked { background: var(--accent); }
input.toggle:checked::after { left: 16px; }
.chaos-actions { display: flex; align-items: center; gap: 8px; position: sticky; bottom: -20px; background: #fff; padding: 10px 0 12px; border-top: 1px solid var(--line); }
.chaos-msg { font-size: 12.5px; }
.chaos-msg.bad { color: var(--bad); }
.chaos-msg.ok { color: var(--ok); }
`;
