// Typed access to a decoded JSON request body with Go encoding/json semantics:
// unknown keys are ignored, `null` equals absent, and a value of the wrong JSON
// type is a decode error (400 "Request body must be valid JSON.").
import { ZERO_UUID } from '../../../pkg/coder/types.ts';
import { invalidJSON } from './errors.ts';
import { isUUID } from './validate.ts';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeError(key: string, goType: string, value: unknown): never {
  const got = Array.isArray(value) ? 'array' : typeof value;
  throw invalidJSON(`json: cannot unmarshal ${got} into Go struct field .${key} of type ${goType}`);
}

export class Body {
  readonly raw: JsonObject;

  constructor(raw: JsonObject) {
    this.raw = raw;
  }

  /** Parses bytes the way httpapi.Read does. */
  static parse(text: string): Body {
    if (text.trim() === '') throw invalidJSON('EOF');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw invalidJSON(err instanceof Error ? err.message : String(err));
    }
    if (!isObject(value)) typeError('', 'object', value);
    return new Body(value);
  }

  /** True when the key is present and not null (a non-nil Go pointer). */
  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  str(key: string): string | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') typeError(key, 'string', v);
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') typeError(key, 'bool', v);
    return v;
  }

  int(key: string): number | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) typeError(key, 'int64', v);
    return v;
  }

  /** A uuid.UUID field: malformed is a decode error, the nil UUID counts as absent. */
  uuid(key: string): string | undefined {
    const v = this.str(key);
    if (v === undefined || v === '') return undefined;
    if (!isUUID(v)) throw invalidJSON(`invalid UUID length: ${v.length}`);
    const id = v.toLowerCase();
    return id === ZERO_UUID ? undefined : id;
  }

  strArray(key: string): string[] | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) typeError(key, '[]string', v);
    return v.map((item: unknown) => {
      if (typeof item !== 'string') typeError(key, 'string', item);
      return item;
    });
  }

  obj(key: string): Body | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) typeError(key, 'object', v);
    return new Body(v);
  }

  /** A `map[string]string`. */
  stringMap(key: string): Record<string, string> | undefined {
    const v = this.obj(key);
    if (!v) return undefined;
    const out: Record<string, string> = {};
    for (const k of Object.keys(v.raw)) {
      const s = v.str(k);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }

  /** An array of objects, e.g. rich_parameter_values. */
  objArray(key: string): Body[] | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) typeError(key, '[]object', v);
    return v.map((item: unknown) => {
      if (!isObject(item)) typeError(key, 'object', item);
      return new Body(item);
    });
  }
}
