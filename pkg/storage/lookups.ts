import type { CoderClient } from '../coder/client.ts';
import { isNotFound } from '../coder/errors.ts';
import type { Organization } from '../coder/types.ts';

const ORG_TTL_MS = 60_000;
const orgCaches = new WeakMap<CoderClient, Map<string, { org: Organization; at: number }>>();

function cacheFor(coder: CoderClient): Map<string, { org: Organization; at: number }> {
  let cache = orgCaches.get(coder);
  if (!cache) {
    cache = new Map();
    orgCaches.set(coder, cache);
  }
  return cache;
}

/**
 * Organization by name, cached briefly per Coder client: every template and workspace
 * request needs the org ID, and organizations are renamed or removed rarely. Writes ask
 * for a fresh lookup so they never act on a recreated organization's old ID.
 */
export async function organizationByName(coder: CoderClient, name: string, fresh = false): Promise<Organization> {
  const cache = cacheFor(coder);
  const key = name.toLowerCase();
  const hit = cache.get(key);
  if (!fresh && hit && Date.now() - hit.at < ORG_TTL_MS) return hit.org;
  try {
    const org = await coder.getOrganization(key);
    cache.set(key, { org, at: Date.now() });
    return org;
  } catch (err) {
    cache.delete(key);
    throw err;
  }
}

/**
 * Runs an org-scoped call; when it answers 404 with a cached org, the org may have been
 * recreated under a new ID, so the cache entry is dropped and the call tried once more.
 */
export async function withOrganization<T>(coder: CoderClient, name: string, call: (org: Organization) => Promise<T>): Promise<T> {
  const cached = cacheFor(coder).has(name.toLowerCase());
  const org = await organizationByName(coder, name);
  try {
    return await call(org);
  } catch (err) {
    if (!cached || !isNotFound(err)) throw err;
    cacheFor(coder).delete(name.toLowerCase());
    return call(await organizationByName(coder, name));
  }
}
