import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '../../src/domain/errors.ts';
import { checkTagName, subtreeOf, tagsToAttach } from '../../src/domain/tags.ts';

// Root > A > C > D, Root > B, Other (a second category).
const TREE = [
  { id: 1, parentId: null },
  { id: 2, parentId: 1 },
  { id: 3, parentId: 1 },
  { id: 4, parentId: 2 },
  { id: 5, parentId: 4 },
  { id: 6, parentId: null },
];

const codeOf = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    return (err as AppError).code;
  }
  return undefined;
};

describe('tag tree rules', () => {
  it('attaching a tag attaches its ancestors below the category', () => {
    expect(tagsToAttach(TREE, 5)).toEqual([5, 4, 2]);
    expect(tagsToAttach(TREE, 3)).toEqual([3]);
  });

  it('a category attaches nothing, an unknown tag is undefined', () => {
    expect(tagsToAttach(TREE, 1)).toEqual([]);
    expect(tagsToAttach(TREE, 99)).toBeUndefined();
  });

  it('a subtree is the tag and all below it, not its ancestors or siblings', () => {
    expect([...subtreeOf(TREE, 2)].sort()).toEqual([2, 4, 5]);
    expect([...subtreeOf(TREE, 1)].sort()).toEqual([1, 2, 3, 4, 5]);
    expect([...subtreeOf(TREE, 5)]).toEqual([5]);
  });

  it('survives a cycle the database should never hold', () => {
    const loop = [
      { id: 1, parentId: 2 },
      { id: 2, parentId: 1 },
    ];
    expect(tagsToAttach(loop, 1)).toEqual([1, 2]);
    expect([...subtreeOf(loop, 1)].sort()).toEqual([1, 2]);
  });

  it("checks names with Connect's codes", () => {
    expect(codeOf(() => checkTagName(''))).toBe(ErrorCode.tagNameEmpty);
    expect(codeOf(() => checkTagName('   '))).toBe(ErrorCode.tagNameEmpty);
    expect(codeOf(() => checkTagName('x'.repeat(256)))).toBe(ErrorCode.tagNameTooLong);
    expect(codeOf(() => checkTagName('x'.repeat(255)))).toBeUndefined();
    // Counted in characters, as PostgreSQL's varchar counts them.
    expect(codeOf(() => checkTagName('😀'.repeat(255)))).toBeUndefined();
    expect(codeOf(() => checkTagName('a\u0000b'))).toBe(ErrorCode.invalidParameter);
  });
});
