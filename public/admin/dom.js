// @ts-check
/**
 * Building the page from data, safely: every value becomes a text node or an attribute,
 * never markup (the CSP's Trusted Types forbid HTML string sinks anyway).
 */

/** @typedef {Node | string | number | null | undefined | false} Leaf */
/** @typedef {Leaf | Leaf[] | Leaf[][]} Child */
/** @typedef {Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>} Attributes */

/**
 * @param {Element} element
 * @param {Attributes} attributes `on<event>` keys add listeners; true sets an empty attribute; null, undefined and false none.
 * @param {Child[]} children
 */
function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value != null) element.setAttribute(name, String(value));
  }
  append(element, children);
}

/**
 * @param {Element} element
 * @param {Child[]} children
 */
function append(element, children) {
  for (const child of children) {
    if (Array.isArray(child)) append(element, /** @type {Child[]} */ (child));
    else if (child instanceof Node) element.append(child);
    else if (child !== null && child !== undefined && child !== false) element.append(document.createTextNode(String(child)));
  }
}

/**
 * An HTML element.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attributes} [attributes]
 * @param {Child[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  fill(element, attributes, children);
  return element;
}

/**
 * An SVG element.
 * @param {string} tag
 * @param {Attributes} [attributes]
 * @param {Child[]} children
 * @returns {SVGElement}
 */
export function svg(tag, attributes = {}, ...children) {
  const element = /** @type {SVGElement} */ (document.createElementNS('http://www.w3.org/2000/svg', tag));
  fill(element, attributes, children);
  return element;
}

/**
 * Replaces what `element` holds.
 * @param {Element} element
 * @param {Child[]} children
 */
export function show(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/**
 * The element with this id (the page's own markup: a missing one is a bug).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} [type]
 * @returns {T}
 */
export function byId(id, type) {
  const element = document.getElementById(id);
  if (element === null || (type !== undefined && !(element instanceof type))) throw new Error(`#${id} missing`);
  return /** @type {T} */ (element);
}

/**
 * A NumericDate as UTC text, e.g. "2026-11-30 04:40:12 UTC"; "never" for 0.
 * @param {number | null | undefined} seconds
 */
export function when(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds === 0) return 'never';
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/**
 * "in 4 min", "3 h ago".
 * @param {number} seconds a NumericDate
 */
export function relative(seconds) {
  const delta = seconds - Date.now() / 1000;
  const size = Math.abs(delta);
  const text =
    size < 90
      ? `${Math.round(size)} s`
      : size < 5400
        ? `${Math.round(size / 60)} min`
        : size < 172800
          ? `${Math.round(size / 3600)} h`
          : `${Math.round(size / 86400)} days`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

/**
 * A table in a scrollable, keyboard-reachable region.
 * @param {string} caption
 * @param {string[]} headings
 * @param {Child[][]} rows
 * @param {string} [empty] shown instead of an empty table
 */
export function table(caption, headings, rows, empty = 'None.') {
  if (rows.length === 0) return h('p', { class: 'empty' }, `${caption}: ${empty}`);
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headings.map((text) => h('th', { scope: 'col' }, text)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((cells) =>
          h(
            'tr',
            {},
            cells.map((cell) => h('td', {}, cell)),
          ),
        ),
      ),
    ),
  );
}

/**
 * A definition list of facts.
 * @param {[string, Child][]} pairs
 */
export function facts(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
  );
}
