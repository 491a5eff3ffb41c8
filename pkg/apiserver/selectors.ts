import { badRequest } from '../api/meta/status-error.ts';

/**
 * Kubernetes label and field selectors (k8s.io/apimachinery/pkg/labels and fields).
 * Labels: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`.
 * Fields: `f=v`, `f==v`, `f!=v` on the fields a resource supports.
 */
export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim());
}

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key) || key.length > 316) throw badRequest(`unable to parse requirement: invalid label key "${key}" in labelSelector "${selector}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!VALUE.test(value) || value.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label value "${value}" in labelSelector "${selector}"`);
  }
  return value;
}

export function parseLabelSelector(selector: string | undefined): Requirement[] {
  if (!selector || !selector.trim()) return [];
  const out: Requirement[] = [];
  for (const term of splitTerms(selector)) {
    if (!term) throw badRequest(`unable to parse labelSelector "${selector}": empty requirement`);
    const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
    if (set) {
      const [, key = '', op, list = ''] = set;
      const values = list.split(',').map((v) => checkValue(v.trim(), selector));
      out.push({ key: checkKey(key, selector), op: op === 'in' ? 'in' : 'notin', values });
      continue;
    }
    const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (eq) {
      const [, key = '', op, value = ''] = eq;
      out.push({ key: checkKey(key, selector), op: op === '!=' ? 'notin' : 'in', values: [checkValue(value.trim(), selector)] });
      continue;
    }
    if (term.startsWith('!')) {
      out.push({ key: checkKey(term.slice(1).trim(), selector), op: '!exists' });
      continue;
    }
    if (/[\s()=]/.test(term)) throw badRequest(`unable to parse labelSelector "${selector}": unexpected "${term}"`);
    out.push({ key: checkKey(term, selector), op: 'exists' });
  }
  return out;
}

export function matchesLabels(requirements: Requirement[], labels: Record<string, string> | undefined): boolean {
  return requirements.every((r) => {
    const value = labels?.[r.key];
    switch (r.op) {
      case 'exists':
        return value !== undefined;
      case '!exists':
        return value === undefined;
      case 'in':
        return value !== undefined && r.values.includes(value);
      case 'notin':
        return value === undefined || !r.values.includes(value);
    }
  });
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export function parseFieldSelector(selector: string | undefined, supported: readonly string[]): FieldRequirement[] {
  if (!selector || !selector.trim()) return [];
  return splitTerms(selector).map((term) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid fieldSelector "${selector}": "${term}" is not field=value or field!=value`);
    const [, field = '', op, value = ''] = m;
    if (!supported.includes(field.trim())) {
      throw badRequest(`field label not supported: "${field.trim()}" (supported: ${supported.join(', ')})`);
    }
    return { field: field.trim(), op: op === '!=' ? '!=' : '=', value: value.trim() };
  });
}

/** The label and field selectors of a LIST or WATCH, as one predicate over a resource's objects. */
export function selectionOf<T extends { metadata: { labels?: Record<string, string> } }>(
  labelSelector: string | undefined,
  fieldSelector: string | undefined,
  selectable: Readonly<Record<string, (object: T) => string>>,
): (object: T) => boolean {
  const labels = parseLabelSelector(labelSelector);
  const fields = parseFieldSelector(fieldSelector, Object.keys(selectable));
  if (labels.length === 0 && fields.length === 0) return () => true;
  return (object) =>
    matchesLabels(labels, object.metadata.labels) &&
    fields.every((r) => {
      const value = selectable[r.field]?.(object) ?? '';
      return r.op === '=' ? value === r.value : value !== r.value;
    });
}
