import { describe, expect, it } from 'vitest';
import { isSvgDocument, sniffImageType } from '../../src/domain/image-type.ts';

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('sniffImageType', () => {
  it('knows PNG, JPEG, GIF and WebP by their first bytes', () => {
    expect(sniffImageType(bytes([0x89], 'PNG\r\n\x1a\n', 'rest'))).toBe('image/png');
    expect(sniffImageType(bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF'))).toBe('image/jpeg');
    expect(sniffImageType(bytes('GIF89a', [1, 0, 1, 0]))).toBe('image/gif');
    expect(sniffImageType(bytes('GIF87a', [1, 0, 1, 0]))).toBe('image/gif');
    expect(sniffImageType(bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '))).toBe('image/webp');
  });

  it('refuses what only looks like the start of one, text, HTML and nothing', () => {
    expect(sniffImageType(bytes([0x89], 'PN'))).toBeUndefined();
    expect(sniffImageType(bytes('RIFF', [0x24, 0, 0, 0], 'WAVEfmt '))).toBeUndefined();
    expect(sniffImageType(bytes('GIF90a'))).toBeUndefined();
    expect(sniffImageType(bytes('hello, world'))).toBeUndefined();
    expect(sniffImageType(bytes('<!DOCTYPE html><html><body><script>alert(1)</script></body></html>'))).toBeUndefined();
    expect(sniffImageType(new Uint8Array())).toBeUndefined();
  });

  it('knows an SVG document, with or without a byte order mark', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';
    expect(sniffImageType(bytes(svg))).toBe('image/svg+xml');
    expect(sniffImageType(bytes([0xef, 0xbb, 0xbf], svg))).toBe('image/svg+xml');
    // Not UTF-8: not served as a document.
    expect(sniffImageType(bytes('<svg>', [0xff, 0xfe], '</svg>'))).toBeUndefined();
  });
});

describe('isSvgDocument', () => {
  it('takes real files: a declaration, comments, a doctype, namespaces, CDATA styles', () => {
    expect(
      isSvgDocument(`<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!-- Created with Inkscape -->
<?xml-stylesheet href="a.css" type="text/css"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox='0 0 10 10'>
  <style><![CDATA[ rect { fill: #f00 } ]]></style>
  <g id="a" data-x="b=c"><rect x="0" y="0" width="10" height="10"/><text>Q &amp; A &#169; &#xA9;</text></g>
  <use xlink:href="#a"/>
</svg>
<!-- trailing comment -->
`),
    ).toBe(true);
    expect(isSvgDocument('<svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>')).toBe(true);
  });

  it('refuses documents whose root is not svg', () => {
    expect(isSvgDocument('<html><svg></svg></html>')).toBe(false);
    expect(isSvgDocument('<svgx></svgx>')).toBe(false);
    expect(isSvgDocument('<?xml version="1.0"?><x:html xmlns:x="http://www.w3.org/1999/xhtml"/>')).toBe(false);
  });

  it('refuses what is not well formed', () => {
    expect(isSvgDocument('<svg><g></svg>')).toBe(false);
    expect(isSvgDocument('<svg></g></svg>')).toBe(false);
    expect(isSvgDocument('<svg>')).toBe(false);
    expect(isSvgDocument('<svg></svg><svg></svg>')).toBe(false);
    expect(isSvgDocument('text first<svg></svg>')).toBe(false);
    expect(isSvgDocument('<svg></svg>text after')).toBe(false);
    expect(isSvgDocument('<svg width=10></svg>')).toBe(false);
    expect(isSvgDocument('<svg a="1" a="2"></svg>')).toBe(false);
    expect(isSvgDocument('<svg>AT&T</svg>')).toBe(false);
    expect(isSvgDocument('<svg title="a & b"></svg>')).toBe(false);
    expect(isSvgDocument('<svg><!-- never closed </svg>')).toBe(false);
    expect(isSvgDocument('<svg></svg><?xml version="1.0"?>')).toBe(false);
  });

  it('refuses a doctype with an internal subset (entity expansion)', () => {
    const lol = '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;">]><svg>&b;</svg>';
    expect(isSvgDocument(lol)).toBe(false);
  });
});
