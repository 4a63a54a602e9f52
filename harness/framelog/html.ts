/**
 * A decoded frame log as one self-contained HTML page (no scripts, no external resources): a
 * table with a colour per layer, each L2 line's chip-select window collapsible (<details>), and
 * failed lines highlighted.
 */
import type { FrameLogHeader } from './frame-log.js';
import type { DecodedLine } from './decode.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font:13px/1.4 ui-monospace,monospace;margin:1em}table{border-collapse:collapse;width:100%}
td{padding:2px 6px;vertical-align:top;border-bottom:1px solid #eee}tr.l1{background:#f4f4f4}tr.l2{background:#eef5ff}
tr.l3{background:#eefbea}tr.step{background:#fff7e0}tr.target{background:#f3eefc}tr.failed{background:#ffd9d9;font-weight:bold}
summary{cursor:pointer}details div{color:#555;padding-left:1.5em}.step{color:#777}caption{text-align:left;margin-bottom:.5em}`;

export function renderHtml(lines: DecodedLine[], header: FrameLogHeader | Record<string, unknown>, title = 'frame log'): string {
  const rows = lines.map((l) => {
    const text = l.l1?.length
      ? `<details><summary>${esc(l.text)}</summary>${l.l1.map((m) => `<div>${esc(m)}</div>`).join('')}</details>`
      : esc(l.text);
    return `<tr class="${l.layer}${l.failed ? ' failed' : ''}"><td>${l.seq}</td><td>${l.layer.toUpperCase()}</td><td>${text}</td><td class="step">${esc(l.step ?? '')}</td></tr>`;
  });
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head><body>
<table><caption>${esc(title)}<br><small>${esc(JSON.stringify(header))}</small></caption>
<tr><th>seq</th><th>layer</th><th>what</th><th>driver step</th></tr>
${rows.join('\n')}
</table></body></html>
`;
}
