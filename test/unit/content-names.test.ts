import { describe, expect, it } from 'vitest';
import { CONTENT_NAME_PATTERN, fallbackName, nameFromTitle, withSuffix } from '../../src/domain/content-names.ts';

describe('generated content names', () => {
  it('come from a title as rsconnect makes them, within Connect’s rule', () => {
    expect(nameFromTitle('Quarterly Sales Report')).toBe('quarterly_sales_report');
    expect(nameFromTitle('  Año 2026: résumé! ')).toBe('ao_2026_rsum');
    expect(nameFromTitle('x'.repeat(100))).toHaveLength(64);
  });

  it('are not made from a title with fewer than three usable characters', () => {
    for (const t of [undefined, null, '', 'ab', '!!!', '日本語']) expect(nameFromTitle(t)).toBeUndefined();
  });

  it('stay valid with a suffix, however long the base', () => {
    expect(withSuffix('report', 'a1b2c3d4')).toBe('report-a1b2c3d4');
    const long = withSuffix('y'.repeat(64), 'a1b2c3d4');
    expect(long).toHaveLength(64);
    expect(long.endsWith('-a1b2c3d4')).toBe(true);
    expect(fallbackName('a1b2c3d4')).toBe('content-a1b2c3d4');
    for (const n of [long, fallbackName('a1b2c3d4')]) expect(n).toMatch(CONTENT_NAME_PATTERN);
  });
});
