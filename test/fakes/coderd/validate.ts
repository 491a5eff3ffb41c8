// Validation rules shared by routes; they mirror codersdk's NameValid & co so
// the fake rejects exactly what a real coderd rejects (see CODER_API.md).
import { ApiError, MESSAGES, invalidUUID } from './errors.ts';

const NAME_RE = /^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$/;
const VERSION_NAME_RE = /^[a-zA-Z0-9]+(?:[_.-][a-zA-Z0-9]+)*$/;
const DISPLAY_NAME_RE = /^[^\s](.*[^\s])?$/s;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESERVED_NAMES = new Set(['new', 'create']);

/** Coder's NameValid: usernames, org, template and workspace names. */
export function nameValid(name: string): boolean {
  return name.length >= 1 && name.length <= 32 && NAME_RE.test(name) && !RESERVED_NAMES.has(name.toLowerCase());
}

export function displayNameValid(name: string): boolean {
  return name === '' || (name.length <= 64 && DISPLAY_NAME_RE.test(name));
}

export function versionNameValid(name: string): boolean {
  return name.length <= 64 && VERSION_NAME_RE.test(name);
}

/** User real names: ≤128 chars, no surrounding whitespace. */
export function userRealNameValid(name: string): boolean {
  return name.length <= 128 && name.trim() === name;
}

export function emailValid(email: string): boolean {
  return /^[^\s@]+@[^\s@]+$/.test(email);
}

export function isUUID(value: string): boolean {
  return UUID_RE.test(value);
}

/** Parses a UUID path parameter, answering 400 `Invalid UUID "<x>".` like httpmw does. */
export function parseUUIDParam(value: string): string {
  if (!isUUID(value)) throw invalidUUID(value);
  return value.toLowerCase();
}

/**
 * Approximates go-password-validator (entropy ≥ 52 bits, ≤ 64 chars): the
 * character pool size to the power of the length, with repeated characters
 * counted once per run so "aaaaaaaaaaaa" stays weak.
 */
export function passwordProblem(password: string): string | null {
  if (password.length > 64) return 'password must be at most 64 characters';
  let pool = 0;
  if (/[a-z]/.test(password)) pool += 26;
  if (/[A-Z]/.test(password)) pool += 26;
  if (/[0-9]/.test(password)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(password)) pool += 33;
  const effectiveLength = password.replace(/(.)\1+/g, '$1').length;
  const bits = pool > 0 ? Math.log2(pool) * effectiveLength : 0;
  if (bits < 52) return 'insecure password, try including more special characters, using uppercase letters, using numbers or using a longer password';
  return null;
}

const DOW = new Map([
  ['sun', 0], ['mon', 1], ['tue', 2], ['wed', 3], ['thu', 4], ['fri', 5], ['sat', 6],
]);

function cronFieldValid(field: string, min: number, max: number, names?: Map<string, number>): boolean {
  if (field === '*') return true;
  const value = (v: string): number | null => {
    const named = names?.get(v.toLowerCase());
    if (named !== undefined) return named;
    if (!/^\d+$/.test(v)) return null;
    const n = Number(v);
    return n >= min && n <= max ? n : null;
  };
  return field.split(',').every((part) => {
    const [range, step] = part.split('/');
    if (range === undefined) return false;
    if (step !== undefined && !/^\d+$/.test(step)) return false;
    if (range === '*') return true;
    const bounds = range.split('-');
    if (bounds.length > 2) return false;
    return bounds.every((b) => value(b) !== null);
  });
}

/**
 * Validates a weekly autostart schedule (`[CRON_TZ=<tz> ]<min> <hour> * * <dow>`),
 * returning an error message like coder's cron.Weekly or null.
 */
export function weeklyCronProblem(schedule: string): string | null {
  let spec = schedule.trim();
  const tzMatch = /^CRON_TZ=(\S+)\s+(.*)$/.exec(spec);
  if (tzMatch) {
    const [, tz = '', rest = ''] = tzMatch;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
    } catch {
      return `parse schedule: provided bad location ${tz}: unknown time zone ${tz}`;
    }
    spec = rest;
  }
  const fields = spec.split(/\s+/);
  if (fields.length !== 5) return 'expected schedule to consist of 5 fields with an optional CRON_TZ=<timezone> prefix';
  const [minute = '', hour = '', dom = '', month = '', dow = ''] = fields;
  if (dom !== '*' || month !== '*') return 'expected day-of-month and month values to be *';
  if (!cronFieldValid(minute, 0, 59)) return `parse schedule: failed to parse minute field "${minute}"`;
  if (!cronFieldValid(hour, 0, 23)) return `parse schedule: failed to parse hour field "${hour}"`;
  if (!cronFieldValid(dow, 0, 7, DOW)) return `parse schedule: failed to parse day-of-week field "${dow}"`;
  return null;
}

/** Paging parameters as coderd's ParsePagination reads them. */
export interface Pagination {
  limit: number;
  offset: number;
  afterId: string | null;
}

export function parsePagination(query: URLSearchParams): Pagination {
  const validations: { field: string; detail: string }[] = [];
  const nonNegative = (field: string): number => {
    const raw = query.get(field);
    if (raw === null || raw === '') return 0;
    // strconv.ParseInt(raw, 10, 32), then a sign check.
    const prefix = `Query param "${field}" must be a valid 32-bit positive integer: `;
    if (!/^[+-]?\d+$/.test(raw)) {
      validations.push({ field, detail: `${prefix}strconv.ParseInt: parsing "${raw}": invalid syntax` });
      return 0;
    }
    const n = Number(raw);
    if (n < -2147483648 || n > 2147483647) {
      validations.push({ field, detail: `${prefix}strconv.ParseInt: parsing "${raw}": value out of range` });
      return 0;
    }
    if (n < 0) {
      validations.push({ field, detail: `${prefix}value is negative` });
      return 0;
    }
    return n;
  };
  const limit = nonNegative('limit');
  const offset = nonNegative('offset');
  const after = query.get('after_id');
  let afterId: string | null = null;
  if (after !== null && after !== '') {
    if (isUUID(after)) afterId = after.toLowerCase();
    else validations.push({ field: 'after_id', detail: `Query param "after_id" must be a valid uuid` });
  }
  if (validations.length > 0) throw new ApiError(400, MESSAGES.invalidQueryParams, { validations });
  return { limit, offset, afterId };
}

/** Applies offset/limit (0 = no limit) to an already filtered, ordered list. */
export function paginate<T>(items: readonly T[], page: Pagination, idOf?: (item: T) => string): T[] {
  let start = 0;
  if (page.afterId !== null && idOf) {
    const index = items.findIndex((item) => idOf(item) === page.afterId);
    if (index < 0) throw new ApiError(400, `Record at "after_id" (${page.afterId}) does not exist.`);
    start = index + 1;
  }
  const from = items.slice(start + page.offset);
  return page.limit > 0 ? from.slice(0, page.limit) : from;
}

/** Parses a Go strconv.ParseBool value; null when absent. */
export function parseBoolParam(query: URLSearchParams, field: string, errorField = field): boolean | null {
  const raw = query.get(field);
  if (raw === null || raw === '') return null;
  const value = parseGoBool(raw);
  if (value === null) {
    throw new ApiError(400, `Invalid boolean value "${raw}" for "${field}" query param.`, {
      validations: [{ field: errorField, detail: 'Must be a valid boolean' }],
    });
  }
  return value;
}

export function parseGoBool(raw: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  return null;
}
