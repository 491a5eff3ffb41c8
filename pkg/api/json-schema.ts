import type { TSchema } from '@sinclair/typebox';

export type JsonObject = Record<string, unknown>;

/**
 * TypeBox schema → plain OpenAPI v3 / Kubernetes structural schema: TypeBox's symbols are
 * dropped, Record's patternProperties become additionalProperties, and unions of literals
 * become enums (CRD schemas accept neither const nor such anyOf).
 */
export function toOpenAPISchema(schema: TSchema): JsonObject {
  const convert = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(convert);
    if (!value || typeof value !== 'object') return value;
    const node = value as JsonObject;
    const branches = node.anyOf;
    if (Array.isArray(branches) && branches.length > 0 && branches.every((b) => b && typeof b === 'object' && 'const' in b)) {
      const values = branches.map((b) => (b as JsonObject).const);
      const { anyOf: _anyOf, ...rest } = node;
      return { ...convert(rest) as JsonObject, type: typeof values[0], enum: values };
    }
    const out: JsonObject = {};
    for (const [key, child] of Object.entries(node)) {
      if (key === 'patternProperties' && child && typeof child === 'object') {
        const [only] = Object.values(child as JsonObject);
        out.additionalProperties = convert(only);
      } else if (key !== '$id') {
        out[key] = convert(child);
      }
    }
    return out;
  };
  return convert(JSON.parse(JSON.stringify(schema))) as JsonObject;
}
