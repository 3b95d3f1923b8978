// A thumbnail's type is decided by its bytes alone: clients send whatever Content-Type their
// file name suggests (connectapi uploads a downloaded favicon with none at all), and a type
// taken on trust would let an HTML page be served back as an "image".

export type ImageType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' | 'image/svg+xml';

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0) => b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const GIF87 = ascii('GIF87a');
const GIF89 = ascii('GIF89a');
const RIFF = ascii('RIFF');
const WEBP = ascii('WEBP');

/** The image type of these bytes by their magic numbers (SVG: a well-formed XML document whose root is `svg`), else undefined. */
export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  if (startsWith(bytes, PNG)) return 'image/png';
  if (startsWith(bytes, JPEG)) return 'image/jpeg';
  if (startsWith(bytes, GIF87) || startsWith(bytes, GIF89)) return 'image/gif';
  if (startsWith(bytes, RIFF) && startsWith(bytes, WEBP, 8)) return 'image/webp';
  let text: string;
  try {
    // Fatal: bytes that are not UTF-8 are not an SVG document we will serve.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return undefined;
  }
  return isSvgDocument(text) ? 'image/svg+xml' : undefined;
}

// Approximations of XML's productions, wide enough for real SVG files (Inkscape, Illustrator,
// hand-written) and narrow enough that HTML or a script is not mistaken for one.
const NAME = String.raw`[A-Za-z_:\u00C0-\uFFFF][-A-Za-z0-9._:\u00B7\u00C0-\uFFFF]*`;
const SPACE = /[ \t\r\n]*/y;
const COMMENT = /<!--[\s\S]*?-->/y;
// Any target but `xml` itself (the declaration, which only the first bytes may hold).
const PI = new RegExp(String.raw`<\?(?![xX][mM][lL][ \t\r\n?])${NAME}(?:[ \t\r\n][\s\S]*?)?\?>`, 'y');
const XML_DECL = /<\?xml[ \t\r\n][^?]*\?>/y;
// Without an internal subset: entity declarations are how an XML file expands itself into
// gigabytes in whoever parses it next, and no SVG needs one.
const DOCTYPE = new RegExp(
  String.raw`<!DOCTYPE[ \t\r\n]+${NAME}(?:[ \t\r\n]+(?:PUBLIC[ \t\r\n]+("[^"]*"|'[^']*')[ \t\r\n]+("[^"]*"|'[^']*')|SYSTEM[ \t\r\n]+("[^"]*"|'[^']*')))?[ \t\r\n]*>`,
  'y',
);
const START_TAG = new RegExp(String.raw`<(${NAME})((?:[ \t\r\n]+${NAME}[ \t\r\n]*=[ \t\r\n]*(?:"[^"<]*"|'[^'<]*'))*)[ \t\r\n]*(/?)>`, 'y');
const ATTRIBUTE = new RegExp(String.raw`(${NAME})[ \t\r\n]*=`, 'g');
const QUOTED = /"[^"]*"|'[^']*'/g;
const END_TAG = new RegExp(String.raw`</(${NAME})[ \t\r\n]*>`, 'y');
const CDATA = /<!\[CDATA\[[\s\S]*?\]\]>/y;
const TEXT = /[^<]+/y;
const BAD_REFERENCE = /&(?![A-Za-z_][-A-Za-z0-9._]*;|#[0-9]+;|#x[0-9A-Fa-f]+;)/;

/**
 * Whether `text` is a well-formed XML document whose root element is `svg` (any prefix): an
 * optional declaration, comments, processing instructions and a doctype around exactly one
 * root element, whose tags nest and close, whose attributes are quoted and not repeated, and
 * whose text holds only well-formed references.
 */
export function isSvgDocument(text: string): boolean {
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const take = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m) at = re.lastIndex;
    return m;
  };
  // Whitespace, comments and processing instructions, allowed before and after the root.
  const misc = () => {
    for (;;) {
      take(SPACE);
      if (!take(COMMENT) && !take(PI)) return;
    }
  };
  take(XML_DECL);
  misc();
  if (take(DOCTYPE)) misc();
  const open: string[] = [];
  let root: string | undefined;
  do {
    const start = take(START_TAG);
    if (start) {
      const values = start[2]!.match(QUOTED) ?? [];
      if (values.some((v) => BAD_REFERENCE.test(v))) return false;
      // Names are read with the values blanked, so `a="b=c"` names `a` alone.
      const names = [...start[2]!.replace(QUOTED, '""').matchAll(ATTRIBUTE)].map((a) => a[1]!);
      if (new Set(names).size !== names.length) return false;
      root ??= start[1]!;
      if (start[3] !== '/') open.push(start[1]!);
      continue;
    }
    const end = take(END_TAG);
    if (end) {
      if (open.pop() !== end[1]) return false;
      continue;
    }
    if (root === undefined) return false;
    if (take(COMMENT) || take(CDATA) || take(PI)) continue;
    const chars = take(TEXT);
    if (chars && !BAD_REFERENCE.test(chars[0])) continue;
    return false;
  } while (open.length > 0);
  misc();
  return at === text.length && /^(?:[^:]+:)?svg$/.test(root ?? '');
}
