import { describe, expect, it } from 'vitest';
import { appModesOfType, parseSearch, quoteSearchValue } from '../../src/domain/content-search.ts';

describe('the catalog query language', () => {
  it('reads filters, quoted values, comma lists, negation and free words', () => {
    const p = parseSearch('owner:alice type:shiny,dash tag:"Finance/Q3 plan" is:published Sales "north region" -draft -owner:bob');
    expect(p.words).toEqual(['sales', 'north region']);
    expect(p.notWords).toEqual(['draft']);
    expect(p.filters).toEqual([
      { key: 'owner', values: ['alice'], negate: false },
      { key: 'type', values: ['shiny', 'dash'], negate: false },
      { key: 'tag', values: ['Finance/Q3 plan'], negate: false },
      { key: 'published', values: ['true'], negate: false },
      { key: 'owner', values: ['bob'], negate: true },
    ]);
    expect(p.warnings).toEqual([]);
  });

  it('warns about what it does not understand and ignores it', () => {
    const p = parseSearch('colour:blue published:bogus is:starred report');
    expect(p.filters).toEqual([]);
    expect(p.words).toEqual(['report']);
    expect(p.warnings).toEqual([
      "Unknown filter 'colour': ignored.",
      "Invalid value for 'published' filter: 'bogus'. Expected true or false",
      "Invalid value for 'is' filter: 'starred'. Expected published or unpublished",
    ]);
  });

  it('turns negated publication states around, and keeps dashes inside names', () => {
    expect(parseSearch('-is:published').filters).toEqual([{ key: 'published', values: ['false'], negate: false }]);
    expect(parseSearch('-published:false').filters).toEqual([{ key: 'published', values: ['true'], negate: false }]);
    expect(parseSearch('sales-report').words).toEqual(['sales-report']);
  });

  it('tolerates an unclosed quote, escaped quotes and an empty query', () => {
    expect(parseSearch('"half open').words).toEqual(['half open']);
    expect(parseSearch('tag:"say \\"hi\\""').filters[0]!.values).toEqual(['say "hi"']);
    expect(parseSearch('   ')).toEqual({ words: [], notWords: [], filters: [], warnings: [] });
  });

  it('bounds what a query can cost', () => {
    const p = parseSearch(Array.from({ length: 50 }, (_, i) => `w${i}`).join(' '));
    expect(p.words).toHaveLength(32);
    expect(p.warnings[0]).toMatch(/first 32 terms/);
    expect(parseSearch('x'.repeat(5000)).warnings[0]).toMatch(/cut at 1000/);
  });

  it('maps type names onto app modes, and quotes values that need it', () => {
    expect(appModesOfType('Shiny', () => false)).toContain('python-shiny');
    expect(appModesOfType('python-dash', (m) => m === 'python-dash')).toEqual(['python-dash']);
    expect(appModesOfType('spreadsheet', () => false)).toBeUndefined();
    expect(quoteSearchValue('Finance/Q3')).toBe('Finance/Q3');
    expect(quoteSearchValue('Q3 plan')).toBe('"Q3 plan"');
  });
});
