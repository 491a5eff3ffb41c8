import type { CoderClient } from '../../coder/client.ts';
import type { TemplateVersion } from '../../coder/types.ts';
import { isJobActive } from '../build-wait.ts';

const MAX_ENTRIES = 5000;

/**
 * Finished template versions never change their build state, so LIST caches them and
 * fetches only versions it has not seen finished. Keyed per Coder client because IDs are
 * only unique within one deployment.
 */
export class TerminalVersionCache {
  readonly #byClient = new WeakMap<CoderClient, Map<string, TemplateVersion>>();

  get(coder: CoderClient, id: string): TemplateVersion | undefined {
    return this.#byClient.get(coder)?.get(id);
  }

  put(coder: CoderClient, version: TemplateVersion): void {
    if (isJobActive(version)) return;
    let cache = this.#byClient.get(coder);
    if (!cache) {
      cache = new Map();
      this.#byClient.set(coder, cache);
    }
    if (cache.size >= MAX_ENTRIES) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(version.id, version);
  }
}
