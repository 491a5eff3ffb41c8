import { describe, expect, it } from '@jest/globals';
import { caughtStatus } from '../../test/util/status.ts';
import { packTemplateFiles, sameFiles, unpackTemplateFiles, validateTemplateFiles } from './template-files.ts';

const codeOf = (fn: () => unknown) => caughtStatus(fn).code;
const messageOf = (fn: () => unknown) => caughtStatus(fn).message;

describe('template file rules', () => {
  it('accepts relative paths and normalises ./', () => {
    const files = validateTemplateFiles({ 'main.tf': 'a', './modules/x.tf': 'b' });
    expect([...files.keys()]).toEqual(['main.tf', 'modules/x.tf']);
  });

  it.each([
    ['/etc/passwd', 'relative'],
    ['../x.tf', '".."'],
    ['a/../../x', '".."'],
    ['a\\b.tf', 'backslash'],
    ['', 'empty'],
    ['dir/', 'name a file'],
    ['a\u0000b', 'control'],
  ])('rejects %j with 400 naming the rule', (path, rule) => {
    const fn = () => validateTemplateFiles({ [path]: 'x' });
    expect(codeOf(fn)).toBe(400);
    expect(messageOf(fn)).toContain(rule);
  });

  it('rejects duplicates after normalisation', () => {
    const fn = () => validateTemplateFiles({ 'a/b.tf': '1', 'a//b.tf': '2' });
    expect(codeOf(fn)).toBe(400);
    expect(messageOf(fn)).toContain('duplicates');
  });

  it('rejects a path that is both file and directory', () => {
    expect(messageOf(() => validateTemplateFiles({ a: '1', 'a/b': '2' }))).toContain('also a directory');
  });

  it('enforces size and count limits with 413', () => {
    const limits = { maxFileBytes: 10, maxTotalBytes: 15, maxEntries: 2 };
    expect(codeOf(() => validateTemplateFiles({ a: 'x'.repeat(11) }, limits))).toBe(413);
    expect(codeOf(() => validateTemplateFiles({ a: 'x'.repeat(10), b: 'y'.repeat(10) }, limits))).toBe(413);
    expect(codeOf(() => validateTemplateFiles({ a: '1', b: '2', c: '3' }, limits))).toBe(413);
    expect(messageOf(() => validateTemplateFiles({ a: 'x'.repeat(11) }, limits))).toContain('spec.files[a]');
  });

  it('rejects an empty file map', () => {
    expect(codeOf(() => validateTemplateFiles({}))).toBe(400);
  });
});

describe('template archives', () => {
  it('round-trips files through a tar archive', async () => {
    const files = new Map([
      ['main.tf', 'resource "x" "y" {}\n'],
      ['nested/dir/file.txt', 'ünïcødé ✓'],
    ]);
    const archive = await packTemplateFiles(files);
    const { files: back, skipped } = await unpackTemplateFiles(archive);
    expect(skipped).toEqual([]);
    expect(sameFiles(back, files)).toBe(true);
  });

  it('is deterministic so identical files give identical uploads', async () => {
    const a = await packTemplateFiles(new Map([['b', '2'], ['a', '1']]));
    const b = await packTemplateFiles(new Map([['a', '1'], ['b', '2']]));
    expect(a.equals(b)).toBe(true);
  });

  it('detects changed content', () => {
    expect(sameFiles({ a: '1' }, new Map([['a', '2']]))).toBe(false);
    expect(sameFiles({ a: '1' }, new Map([['a', '1'], ['b', '']]))).toBe(false);
  });
});
