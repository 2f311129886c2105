// CSV cells for the exports (opt-outs, messages).

// A phone number (E.164, or WhatsApp's whatsapp:+E164) is data, never a formula: digits only.
const PHONE_CELL = /^(whatsapp:)?\+[1-9]\d{1,14}$/;
// A plain number (a provider's price is negative, e.g. -0.00790) is no formula either.
const NUMBER_CELL = /^-\d+(\.\d+)?$/;

/**
 * One CSV cell, safe to open in a spreadsheet: a leading =, +, -, @, tab or CR would start a
 * formula, so such cells get a leading apostrophe (OWASP "CSV injection") — except a phone
 * number or a plain negative number, which stay as they are so the export re-imports; quotes, commas and line breaks are quoted.
 */
export function csvCell(v: string): string {
  let s = /^[=+\-@\t\r]/.test(v) && !PHONE_CELL.test(v) && !NUMBER_CELL.test(v) ? `'${v}` : v;
  if (/[",\r\n]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}
