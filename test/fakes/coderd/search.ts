// The `q` search grammar of coderd/searchquery: space-separated `key:value`
// terms, double quotes group, a bare term goes to a default key.
import type { ValidationError } from '../../../pkg/coder/types.ts';
import { ApiError } from './errors.ts';
import { isUUID, parseGoBool } from './validate.ts';

/** Splits on `delimiter` outside double quotes; quotes are kept unless `strip`. */
function splitOutsideQuotes(input: string, delimiter: string, strip: boolean): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of input) {
    if (ch === '"') {
      quoted = !quoted;
      if (!strip) current += ch;
      continue;
    }
    if (ch === delimiter && !quoted) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}

export class SearchTerms {
  readonly values = new Map<string, string[]>();
  private readonly errors: ValidationError[] = [];
  private readonly used = new Set<string>();

  add(key: string, value: string): void {
    this.values.set(key, [...(this.values.get(key) ?? []), value]);
  }

  /** Last value of a key ('' when absent), marking the key as known. */
  str(key: string): string {
    this.used.add(key);
    return this.values.get(key)?.at(-1) ?? '';
  }

  bool(key: string): boolean | null {
    const raw = this.str(key);
    if (raw === '') return null;
    const value = parseGoBool(raw);
    if (value === null) this.errors.push({ field: key, detail: `Query param "${key}" must be a valid boolean` });
    return value;
  }

  uuids(key: string): string[] {
    const raw = this.str(key);
    if (raw === '') return [];
    return raw.split(',').flatMap((id) => {
      if (isUUID(id.trim())) return [id.trim().toLowerCase()];
      this.errors.push({ field: key, detail: `Query param "${key}" has invalid uuids: "${id}"` });
      return [];
    });
  }

  fail(field: string, detail: string): void {
    this.errors.push({ field, detail });
  }

  /** Rejects unknown keys and any recorded problem (parser.ErrorExcessParams). */
  finish(message: string): void {
    for (const key of this.values.keys()) {
      if (!this.used.has(key)) this.errors.push({ field: key, detail: `"${key}" is not a valid query param` });
    }
    if (this.errors.length > 0) throw new ApiError(400, message, { validations: this.errors });
  }
}

export function parseSearch(query: string, defaultKey: (term: string, terms: SearchTerms) => void, message: string): SearchTerms {
  const terms = new SearchTerms();
  for (const element of splitOutsideQuotes(query.trim(), ' ', false)) {
    if (element === '') continue;
    if (element.startsWith(':') || element.endsWith(':')) {
      throw new ApiError(400, message, { validations: [{ field: 'q', detail: `Query element "${element}" cannot start or end with ':'` }] });
    }
    const parts = splitOutsideQuotes(element, ':', true);
    const [key, value] = parts;
    if (parts.length === 1 && key !== undefined) defaultKey(key, terms);
    else if (parts.length === 2 && key !== undefined && value !== undefined) terms.add(key.toLowerCase(), value);
    else throw new ApiError(400, message, { validations: [{ field: 'q', detail: `Query element "${element}" can only contain 1 ':'` }] });
  }
  return terms;
}
