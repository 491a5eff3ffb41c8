import type { Context } from 'koa';
import { notAcceptable } from '../api/meta/status-error.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** What a response carries: the objects, a meta.k8s.io Table, or metadata only (PartialObjectMetadata). */
export type ResponseForm = 'object' | 'table' | 'metadata';

/** The forms besides plain objects that a request may be answered in. */
export interface Offered {
  table?: boolean;
  /** The kind metadata-only answers have: PartialObjectMetadataList for lists, PartialObjectMetadata otherwise. */
  metadata?: 'PartialObjectMetadata' | 'PartialObjectMetadataList';
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

const META_VERSIONS = ['v1', 'v1beta1', undefined];

/**
 * Picks JSON, a meta.k8s.io Table or metadata only from the Accept header in the client's
 * order, as kube-apiserver does; protobuf is not served, so a client that accepts only
 * protobuf (or only something else) gets 406.
 */
export function negotiate(accept: string | undefined, offered: Offered = {}): ResponseForm {
  for (const range of parseAccept(accept)) {
    const isJson = range.type === 'application/json' || range.type === 'application/*' || range.type === '*/*';
    if (!isJson) continue;
    const as = range.params.as;
    if (!as) return 'object';
    const metaGroup = (range.params.g ?? 'meta.k8s.io') === 'meta.k8s.io' && META_VERSIONS.includes(range.params.v);
    if (!metaGroup) continue;
    if (as === 'Table' && offered.table) return 'table';
    if (as === offered.metadata) return 'metadata';
  }
  const forms = ['application/json'];
  if (offered.table) forms.push('application/json;as=Table;v=v1;g=meta.k8s.io');
  if (offered.metadata) forms.push(`application/json;as=${offered.metadata};v=v1;g=meta.k8s.io`);
  throw notAcceptable(`only the following media types are accepted: ${forms.join(', ')}`);
}

/** negotiate() for a request; the form is kept in ctx.state.form for the request log. */
export function negotiateRequest(ctx: Context, offered: Offered = {}): ResponseForm {
  const form = negotiate(ctx.get('accept'), offered);
  (ctx.state as { form?: ResponseForm }).form = form;
  return form;
}

export function parseIncludeObject(value: string | undefined): IncludeObject {
  if (value === undefined || value === '' || value === 'Metadata') return 'Metadata';
  if (value === 'None' || value === 'Object') return value;
  throw notAcceptable(`includeObject: unsupported value "${value}" (None, Metadata or Object)`);
}
