import type { CoderClient } from '../coder/client.ts';
import type { Organization } from '../coder/types.ts';

const ORG_TTL_MS = 60_000;
const orgCaches = new WeakMap<CoderClient, Map<string, { org: Organization; at: number }>>();

/**
 * Organization by name, cached briefly per Coder client: every template and workspace
 * request needs the org ID, and organizations are renamed or removed rarely.
 */
export async function organizationByName(coder: CoderClient, name: string): Promise<Organization> {
  let cache = orgCaches.get(coder);
  if (!cache) {
    cache = new Map();
    orgCaches.set(coder, cache);
  }
  const key = name.toLowerCase();
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < ORG_TTL_MS) return hit.org;
  try {
    const org = await coder.getOrganization(key);
    cache.set(key, { org, at: Date.now() });
    return org;
  } catch (err) {
    cache.delete(key);
    throw err;
  }
}
