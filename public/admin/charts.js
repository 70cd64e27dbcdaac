// @ts-check
/** Two small inline SVG charts: stacked bars of counts, and lines on an ordinal (bucket) scale. */
import { h, svg } from './dom.js';

const WIDTH = 600;
const HEIGHT = 180;
const LEFT = 52;
const BOTTOM = 22;
const TOP = 8;
const PLOT_W = WIDTH - LEFT - 8;
const PLOT_H = HEIGHT - TOP - BOTTOM;

/**
 * @param {string} caption
 * @param {string} summary read by screen readers in place of the picture
 * @param {SVGElement[]} marks
 * @param {{ label: string, className: string }[]} legend
 */
function figure(caption, summary, marks, legend) {
  return [
    h('figcaption', {}, caption),
    svg(
      'svg',
      { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': summary, focusable: 'false' },
      svg('line', { class: 'axis', x1: LEFT, y1: TOP + PLOT_H, x2: WIDTH - 8, y2: TOP + PLOT_H }),
      svg('line', { class: 'axis', x1: LEFT, y1: TOP, x2: LEFT, y2: TOP + PLOT_H }),
      marks,
    ),
    h(
      'ul',
      { class: 'legend', 'aria-hidden': 'true' },
      legend.map((l) => h('li', {}, h('span', { class: `swatch ${l.className}` }), l.label)),
    ),
  ];
}

/**
 * @param {number} y
 * @param {string} text
 */
const yLabel = (y, text) => svg('text', { class: 'axis-label', x: LEFT - 4, y: y + 4, 'text-anchor': 'end' }, text);

/**
 * Stacked bars: one bar per interval, one segment per series.
 * @param {string} caption
 * @param {string} summary
 * @param {Record<string, number>[]} bars oldest first
 * @param {string[]} series in stacking order; class `fill-<series>`
 * @param {number} slots bars the chart has room for
 */
export function stackedBars(caption, summary, bars, series, slots) {
  const max = Math.max(1, ...bars.map((bar) => series.reduce((sum, s) => sum + (bar[s] ?? 0), 0)));
  const width = PLOT_W / slots;
  const marks = [yLabel(TOP, String(max)), yLabel(TOP + PLOT_H, '0')];
  bars.forEach((bar, i) => {
    let base = TOP + PLOT_H;
    const x = LEFT + (slots - bars.length + i) * width;
    for (const s of series) {
      const height = ((bar[s] ?? 0) / max) * PLOT_H;
      if (height <= 0) continue;
      base -= height;
      marks.push(svg('rect', { class: `fill-${s}`, x: x + 1, y: base, width: Math.max(1, width - 2), height }));
    }
  });
  return figure(
    caption,
    summary,
    marks,
    series.map((s) => ({ label: s.replace('_', ' '), className: `fill-${s}` })),
  );
}

/**
 * Lines over intervals, on an ordinal scale of labelled levels (histogram bucket bounds).
 * @param {string} caption
 * @param {string} summary
 * @param {{ name: string, points: (number | null)[] }[]} lines level indexes, null for no data
 * @param {string[]} levels labels of the levels, lowest first
 * @param {number} slots
 */
export function levelLines(caption, summary, lines, levels, slots) {
  const step = PLOT_W / slots;
  const top = Math.max(1, levels.length - 1);
  const yOf = (/** @type {number} */ level) => TOP + PLOT_H - (level / top) * PLOT_H;
  const marks = levels.map((label, i) => (i % 3 === 0 ? yLabel(yOf(i), label) : null)).filter((m) => m !== null);
  for (const { name, points } of lines) {
    const offset = slots - points.length;
    /** @type {string[]} */
    const runs = [];
    let run = '';
    points.forEach((p, i) => {
      if (p === null) {
        if (run !== '') runs.push(run);
        run = '';
        return;
      }
      const x = LEFT + (offset + i + 0.5) * step;
      run += `${run === '' ? 'M' : 'L'}${x.toFixed(1)} ${yOf(p).toFixed(1)} `;
      // A dot per point: an interval between gaps is still seen.
      marks.push(svg('circle', { class: `dot-${name}`, cx: x.toFixed(1), cy: yOf(p).toFixed(1), r: 2.5 }));
    });
    if (run !== '') runs.push(run);
    for (const d of runs) marks.push(svg('path', { class: `line-${name}`, d }));
  }
  return figure(
    caption,
    summary,
    /** @type {SVGElement[]} */ (marks),
    lines.map((l) => ({ label: l.name, className: `line-${l.name}` })),
  );
}

/**
 * A small horizontal bar for a table cell.
 * @param {number} value
 * @param {number} max
 * @param {string} className
 */
export function cellBar(value, max, className) {
  return svg(
    'svg',
    { viewBox: '0 0 100 10', width: '100%', height: 12, preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' },
    svg('rect', { class: className, x: 0, y: 1, height: 8, width: max === 0 ? 0 : Math.max(0.5, (value / max) * 100) }),
  );
}
