import { describe, expect, it } from '@jest/globals';
import { durationMs, parseOptions } from './options.ts';

describe('flags', () => {
  it('has the documented defaults', () => {
    const o = parseOptions([]);
    expect(o.app).toBe('all');
    expect(o.securePort).toBe(6443);
    expect(o.metricsBindAddress).toBe(':8080');
    expect(o.healthProbeBindAddress).toBe(':8081');
    expect(o.coderRequestTimeoutMs).toBe(30_000);
    expect(o.requestheaderUsernameHeaders).toEqual(['X-Remote-User']);
  });

  it('reads environment twins', () => {
    process.env.CODER_K8S_SECURE_PORT = '7443';
    process.env.CODER_K8S_REQUESTHEADER_ALLOWED_NAMES = 'front-proxy-client,other';
    try {
      const o = parseOptions([]);
      expect(o.securePort).toBe(7443);
      expect(o.requestheaderAllowedNames).toEqual(['front-proxy-client', 'other']);
    } finally {
      delete process.env.CODER_K8S_SECURE_PORT;
      delete process.env.CODER_K8S_REQUESTHEADER_ALLOWED_NAMES;
    }
  });

  it('parses Go durations and rejects bare numbers', () => {
    expect(durationMs('1m30s')).toBe(90_000);
    expect(durationMs('250ms')).toBe(250);
    expect(() => durationMs('10')).toThrow('duration');
  });

  it('fails clearly on bad combinations', () => {
    expect(() => parseOptions(['--coder-url', 'http://coder'])).toThrow('missing --coder-session-token-file (or --coder-session-token), --coder-namespace');
    expect(() => parseOptions(['--template-build-wait', '60s'])).toThrow('under 60s');
    expect(() => parseOptions(['--tls-cert-file', 'x'])).toThrow('together');
    expect(() => parseOptions(['--coder-url', 'ftp://x', '--coder-session-token', 't', '--coder-namespace', 'n'])).toThrow('http or https');
    expect(() => parseOptions(['--coder-url', 'http://x', '--coder-session-token', 't', '--coder-namespace', 'Bad_NS'])).toThrow('not a valid namespace');
  });
});
