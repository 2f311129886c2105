// The live segment counter of the compose boxes: the server's own counter (src/core/segments.ts,
// pure) bundled into the page, so the page and the send API never disagree.
import { countSegments } from '../../src/core/segments.js';

export function segmentText(body: string): string {
  if (!body) return '0 characters';
  const s = countSegments(body);
  return `${s.characters} characters · ${s.segments} segment${s.segments === 1 ? '' : 's'} · ${s.encoding}`;
}
