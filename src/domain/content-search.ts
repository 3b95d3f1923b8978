/**
 * The catalog's query language, shared by the browser catalog and `GET /v1/search/content`
 * (connect-api-next.md §6.1): free words over name, title and description (all must match),
 * and `key:value` filters with Connect's keys, `owner:alice`, `owner:@me`, `type:shiny`,
 * `tag:"Finance/Q3"`, `is:published`, `published:false`. A value may be quoted, several values
 * are one comma list (any of them), and a leading `-` negates a filter. Anything not understood
 * becomes a warning and is ignored, as Connect does, so a typo narrows nothing by surprise.
 */

/** One `key:value,value` filter of a query. */
interface SearchFilter {
  key: 'owner' | 'type' | 'tag' | 'published';
  values: string[];
  negate: boolean;
}

export interface ParsedSearch {
  /** Lower-cased words and quoted phrases; each must appear in name, title or description. */
  words: string[];
  /** Words after a `-`: none may appear. */
  notWords: string[];
  filters: SearchFilter[];
  warnings: string[];
}

// Connect's content types by the names people type, onto Lectern's app modes.
const TYPES: Readonly<Record<string, readonly string[]>> = {
  shiny: ['shiny', 'rmd-shiny', 'python-shiny', 'quarto-shiny'],
  rmarkdown: ['rmd-static', 'rmd-shiny'],
  rmd: ['rmd-static', 'rmd-shiny'],
  quarto: ['quarto-static', 'quarto-shiny'],
  jupyter: ['jupyter-static', 'jupyter-voila'],
  notebook: ['jupyter-static'],
  voila: ['jupyter-voila'],
  api: ['api', 'python-api', 'python-fastapi'],
  plumber: ['api'],
  flask: ['python-api'],
  fastapi: ['python-fastapi'],
  dash: ['python-dash'],
  streamlit: ['python-streamlit'],
  bokeh: ['python-bokeh'],
  gradio: ['python-gradio'],
  panel: ['python-panel'],
  static: ['static'],
  tensorflow: ['tensorflow-saved-model'],
};

/** The type names the catalog offers, each with the app modes it stands for. */
export const SEARCH_TYPES: ReadonlyArray<{ name: string; label: string }> = [
  { name: 'shiny', label: 'Shiny application' },
  { name: 'dash', label: 'Dash application' },
  { name: 'streamlit', label: 'Streamlit application' },
  { name: 'api', label: 'API' },
  { name: 'rmarkdown', label: 'R Markdown' },
  { name: 'quarto', label: 'Quarto' },
  { name: 'jupyter', label: 'Jupyter notebook' },
  { name: 'static', label: 'Static site' },
];

/** The catalog's type (name and label) of an app mode: what its card and filter say. */
export function typeOfMode(mode: string): { name: string; label: string } {
  const t = SEARCH_TYPES.find((s) => TYPES[s.name]!.includes(mode));
  if (t) return t;
  if (mode === 'unknown') return { name: 'unknown', label: 'Not deployed yet' };
  return { name: 'other', label: mode };
}

/** The app modes a `type:` value stands for; a mode's own name (`python-dash`) is accepted too. */
export function appModesOfType(name: string, known: (mode: string) => boolean): readonly string[] | undefined {
  const n = name.toLowerCase();
  return Object.hasOwn(TYPES, n) ? TYPES[n] : known(n) ? [n] : undefined;
}

const MAX_QUERY = 1000;
const MAX_TERMS = 32;

// A term: optional `-`, then either `key:value` (value quoted or bare, comma lists allowed) or a
// word or quoted phrase. Quotes allow spaces and colons; `\"` is a literal quote inside them.
const TERM = /\s*(-?)(?:([A-Za-z_]+):((?:"(?:[^"\\]|\\.)*"|[^\s,"]+)(?:,(?:"(?:[^"\\]|\\.)*"|[^\s,"]+))*)|("(?:[^"\\]|\\.)*"?)|(\S+))/y;
const VALUE = /"((?:[^"\\]|\\.)*)"|([^\s,"]+)/g;

const unquote = (s: string) => s.replace(/\\(.)/g, '$1');

function valuesOf(list: string): string[] {
  const out: string[] = [];
  for (const m of list.matchAll(VALUE)) out.push(m[1] !== undefined ? unquote(m[1]) : m[2]!);
  return out;
}

/** Parses a query; never throws (a bad query is warnings, not an error). */
export function parseSearch(raw: string): ParsedSearch {
  const out: ParsedSearch = { words: [], notWords: [], filters: [], warnings: [] };
  const q = raw.length > MAX_QUERY ? raw.slice(0, MAX_QUERY) : raw;
  if (raw.length > MAX_QUERY) out.warnings.push(`The query was cut at ${MAX_QUERY} characters.`);
  TERM.lastIndex = 0;
  let terms = 0;
  for (let m = TERM.exec(q); m !== null && m[0].trim() !== ''; m = TERM.exec(q)) {
    if (++terms > MAX_TERMS) {
      out.warnings.push(`Only the first ${MAX_TERMS} terms of the query were used.`);
      break;
    }
    const negate = m[1] === '-';
    if (m[2] !== undefined) {
      addFilter(out, m[2].toLowerCase(), valuesOf(m[3]!), negate);
    } else {
      const text = m[4] !== undefined ? unquote(m[4].replace(/^"|"$/g, '')) : m[5]!;
      const word = text.trim().toLowerCase();
      if (word) (negate ? out.notWords : out.words).push(word);
    }
  }
  return out;
}

function addFilter(out: ParsedSearch, key: string, values: string[], negate: boolean): void {
  switch (key) {
    case 'owner':
    case 'type':
    case 'tag':
      out.filters.push({ key, values, negate });
      return;
    case 'is':
      for (const v of values) {
        const lower = v.toLowerCase();
        if (lower === 'published' || lower === 'unpublished') {
          const published = (lower === 'published') !== negate;
          out.filters.push({ key: 'published', values: [String(published)], negate: false });
        } else out.warnings.push(`Invalid value for 'is' filter: '${v}'. Expected published or unpublished`);
      }
      return;
    case 'published':
      for (const v of values) {
        const lower = v.toLowerCase();
        if (lower === 'true' || lower === 'false') out.filters.push({ key: 'published', values: [String((lower === 'true') !== negate)], negate: false });
        else out.warnings.push(`Invalid value for 'published' filter: '${v}'. Expected true or false`);
      }
      return;
    default:
      out.warnings.push(`Unknown filter '${key}': ignored.`);
  }
}

/** A value for a query: quoted when it holds spaces, commas, quotes or colons. */
export function quoteSearchValue(v: string): string {
  return /[\s,":]/.test(v) ? `"${v.replace(/(["\\])/g, '\\$1')}"` : v;
}
