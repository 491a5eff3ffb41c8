import { notAcceptable } from '../api/meta/status-error.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface ResponseFormat {
  table: boolean;
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(accept: string | undefined): MediaRange[] {
  if (!accept) return [{ type: '*/*', params: {} }];
  return accept.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim());
    const map: Record<string, string> = {};
    for (const p of params) {
      const [k = '', v = ''] = p.split('=');
      map[k.trim()] = v.trim();
    }
    return { type: type.toLowerCase(), params: map };
  });
}

/**
 * Picks JSON or a meta.k8s.io Table from the Accept header in the client's order, as
 * kube-apiserver does; protobuf is not served, so a client that accepts only protobuf
 * (or only something else) gets 406.
 */
export function negotiate(accept: string | undefined, tableAllowed: boolean): ResponseFormat {
  for (const range of parseAccept(accept)) {
    const isJson = range.type === 'application/json' || range.type === 'application/*' || range.type === '*/*';
    if (!isJson) continue;
    if (range.params.as === 'Table') {
      const gvOk = (range.params.g ?? 'meta.k8s.io') === 'meta.k8s.io' && ['v1', 'v1beta1', undefined].includes(range.params.v);
      if (tableAllowed && gvOk) return { table: true };
      continue;
    }
    if (range.params.as) continue;
    return { table: false };
  }
  throw notAcceptable(`only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io`);
}

export function parseIncludeObject(value: string | undefined): IncludeObject {
  if (value === undefined || value === '' || value === 'Metadata') return 'Metadata';
  if (value === 'None' || value === 'Object') return value;
  throw notAcceptable(`includeObject: unsupported value "${value}" (None, Metadata or Object)`);
}
