import { describe, expect, it } from '@jest/globals';
import { caughtStatus as statusOf } from '../../../../test/util/status.ts';
import { parseTemplateName, parseWorkspaceName, templateObjectName, workspaceObjectName } from './names.ts';


describe('object names', () => {
  it('parses <org>.<template>', () => {
    expect(parseTemplateName('acme.python-dev')).toEqual({ organization: 'acme', template: 'python-dev' });
  });

  it('parses <org>.<owner>.<workspace>', () => {
    expect(parseWorkspaceName('coder.alice.dev')).toEqual({ organization: 'coder', owner: 'alice', workspace: 'dev' });
  });

  it.each(['docker', 'a.b.c', '.docker', 'coder.', 'coder..x'])('rejects template name %s with 400 naming the form', (name) => {
    const err = statusOf(() => parseTemplateName(name));
    expect(err.code).toBe(400);
    expect(err.reason).toBe('BadRequest');
    expect(err.message).toContain('<organization>.<template>');
  });

  it.each(['coder.alice', 'a.b.c.d', 'coder.alice.'])('rejects workspace name %s', (name) => {
    const err = statusOf(() => parseWorkspaceName(name));
    expect(err.code).toBe(400);
    expect(err.message).toContain('<organization>.<owner>.<workspace>');
  });

  it('rejects segments that break Coder name rules', () => {
    expect(statusOf(() => parseTemplateName('coder.-bad')).message).toContain('"-bad"');
    expect(statusOf(() => parseTemplateName(`coder.${'x'.repeat(33)}`)).code).toBe(400);
    expect(statusOf(() => parseTemplateName('coder.a--b')).code).toBe(400);
  });

  it("rejects Coder's path aliases as name segments", () => {
    expect(statusOf(() => parseTemplateName('default.docker')).message).toContain('alias for the default organization');
    expect(statusOf(() => parseWorkspaceName('coder.me.dev')).message).toContain('alias for the calling user');
  });

  it('lower-cases Coder names for Kubernetes', () => {
    expect(templateObjectName('Acme', 'Python')).toBe('acme.python');
    expect(workspaceObjectName('Coder', 'Alice', 'Dev')).toBe('coder.alice.dev');
  });
});
