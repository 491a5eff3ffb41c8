/**
 * What a request is about, in kube-apiserver's terms (k8s.io/apiserver RequestInfo): the
 * input to authorization, metrics labels and logs.
 */
export interface RequestInfo {
  isResourceRequest: boolean;
  path: string;
  verb: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

export function requestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const lower = method.toLowerCase();
  const parts = path.split('/').filter(Boolean);
  const nonResource: RequestInfo = {
    isResourceRequest: false,
    path,
    verb: lower,
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };
  if (parts[0] !== 'apis' || parts.length < 4) return nonResource;
  const [, apiGroup = '', apiVersion = '', ...rest] = parts;
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1] ?? '';
    rest.splice(0, 2);
  } else if (rest[0] === 'namespaces') {
    // /namespaces or /namespaces/{name}: the namespace resource itself
  }
  const [resource = '', pathName = '', subresource = ''] = rest;
  // A list narrowed to one name by field selector is authorized as that name, as in
  // kube-apiserver, so RBAC rules with resourceNames allow it.
  const selected = /^metadata\.name==?([^,]+)$/.exec(query.get('fieldSelector') ?? '')?.[1];
  const name = pathName || (selected ?? '');
  const watch = query.get('watch');
  let verb: string;
  switch (lower) {
    case 'get':
    case 'head':
      verb = pathName ? 'get' : watch === 'true' || watch === '1' ? 'watch' : 'list';
      break;
    case 'post':
      verb = 'create';
      break;
    case 'put':
      verb = 'update';
      break;
    case 'patch':
      verb = 'patch';
      break;
    case 'delete':
      verb = pathName ? 'delete' : 'deletecollection';
      break;
    default:
      verb = lower;
  }
  return { isResourceRequest: true, path, verb, apiGroup, apiVersion, namespace, resource, subresource, name };
}
