import type { ResourceInfo } from '../api/aggregation/v1alpha1/resources.ts';

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export function groupVersionOf(resources: readonly ResourceInfo[]): { group: string; version: string } {
  const first = resources[0];
  if (!first) throw new Error('no resources to serve');
  return { group: first.group, version: first.version };
}

function apiGroup(group: string, version: string) {
  const gv = { groupVersion: `${group}/${version}`, version };
  return { name: group, versions: [gv], preferredVersion: gv };
}

export function apiGroupList(resources: readonly ResourceInfo[]) {
  const { group, version } = groupVersionOf(resources);
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [apiGroup(group, version)] };
}

export function apiGroupDocument(resources: readonly ResourceInfo[]) {
  const { group, version } = groupVersionOf(resources);
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, version) };
}

export function apiResourceList(resources: readonly ResourceInfo[]) {
  const { group, version } = groupVersionOf(resources);
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${group}/${version}`,
    resources: resources.map((r) => ({
      name: r.plural,
      singularName: r.singular,
      namespaced: true,
      kind: r.kind,
      verbs: [...r.verbs],
      shortNames: [...r.shortNames],
      categories: [...r.categories],
    })),
  };
}

/** The core group is not served, but kubectl asks for /api before /apis. */
export function coreAPIVersions() {
  return { kind: 'APIVersions', apiVersion: 'v1', versions: [], serverAddressByClientCIDRs: [] };
}
