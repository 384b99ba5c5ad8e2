/* chart_check.js - run inside a page that inlines one SVG chart of probity:
 * counts the chart's parts and how many the browser laid out inside the
 * picture, and writes one line per fact into <pre id="result">, read back
 * with chromium --dump-dom (tests/e2e/browser.sh, chart_measure). */
const svg = document.querySelector('svg');
const W = svg.viewBox.baseVal.width, H = svg.viewBox.baseVal.height;
const S = svg.getBoundingClientRect();
/* where the browser put an element, in the picture's coordinates (after
 * transforms such as the rotated y label) */
const box = e => { const r = e.getBoundingClientRect();
                   return { x: r.left - S.left, y: r.top - S.top, width: r.width, height: r.height }; };
const inside = b => b.width > 0 && b.height > 0 && b.x >= -1 && b.y >= -1 &&
                    b.x + b.width <= W + 1 && b.y + b.height <= H + 1;
const out = [];
const count = (sel, ok) => {
  const els = [...svg.querySelectorAll(sel)];
  out.push(sel + ' ' + els.length + ' laid-out ' + els.filter(e => ok(box(e))).length);
};
count('.legend-entry', inside);
count('.axis-label', inside);
count('.tick-label', inside);
count('.chart-title', inside);
count('path.area', b => b.width > 100 && b.height > 10);
count('path.series-line', b => b.width > 100 && b.height > 10);
count('.change-start', b => b.height > 50);
count('.change-label', inside);
for (const t of svg.querySelectorAll('.chart-title, .axis-label, .legend-entry text'))
  out.push('text: ' + t.textContent + ' width ' + (t.getComputedTextLength() > 10 ? 'ok' : 'zero'));
document.getElementById('result').textContent = out.join('\n');
