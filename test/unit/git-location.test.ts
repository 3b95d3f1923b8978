import { describe, expect, it } from 'vitest';
import { checkBranch, checkRepositoryUrl, normalizeDirectory } from '../../src/domain/git-location.ts';

const ALL = ['https', 'http', 'ssh', 'git'];

describe('git locations', () => {
  it('keep the directory inside the repository, normalised', () => {
    expect(normalizeDirectory('')).toBe('.');
    expect(normalizeDirectory('.')).toBe('.');
    expect(normalizeDirectory('./')).toBe('.');
    expect(normalizeDirectory('./app/')).toBe('app');
    expect(normalizeDirectory('a//b/./c')).toBe('a/b/c');
    for (const bad of ['..', '../x', 'a/../../b', 'a/..', '/etc', 'a\\b', 'a\u0000b']) expect(() => normalizeDirectory(bad), bad).toThrow();
  });

  it('take the transports allowed, and never a local path, file://, ext:: or an option', () => {
    expect(checkRepositoryUrl('https://github.com/o/r.git', ALL)).toBe('https://github.com/o/r.git');
    expect(checkRepositoryUrl(' git@github.com:o/r.git ', ALL)).toBe('git@github.com:o/r.git');
    expect(checkRepositoryUrl('ssh://git@host/o/r.git', ALL)).toBe('ssh://git@host/o/r.git');
    expect(() => checkRepositoryUrl('http://h/r.git', ['https'])).toThrow(/not http/);
    expect(() => checkRepositoryUrl('git@github.com:o/r.git', ['https'])).toThrow(/ssh/);
    for (const bad of [
      'file:///srv/r.git',
      '/srv/r.git',
      './r',
      'ext::sh -c id',
      'ext::ssh',
      '-uhttps://x',
      'https://user:pw@h/r.git',
      'https://tok@h/r.git',
      'https://h/r .git',
      '',
    ]) {
      expect(() => checkRepositoryUrl(bad, ALL), bad).toThrow();
    }
  });

  it('take branch names git takes, and refuse what could be read as an option or escape refs/heads', () => {
    for (const ok of ['main', 'feature/x', 'release-1.2', 'v1_0']) expect(checkBranch(ok)).toBe(ok);
    for (const bad of ['', '-x', '../main', 'a..b', 'a/', '/a', 'a//b', '.hidden', 'x.lock', 'a b', 'a:b', 'a~1', 'a^', 'a?', 'a*', 'a['])
      expect(() => checkBranch(bad), bad).toThrow();
  });
});
