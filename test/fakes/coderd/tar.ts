// Template archives. Uploaded tars are really unpacked so tests can drive
// import failures through file content, and seeded templates ship real tars.
import { extract, pack } from 'tar-stream';
import type { PlannedFailure } from './state.ts';

export interface ArchiveEntry {
  name: string;
  type: 'file' | 'directory' | 'other';
  data: Buffer;
}

/** Fixed mtime so identical files give identical archives (and hashes). */
const EPOCH = new Date('2024-01-01T00:00:00Z');

export async function packTar(files: Record<string, string | Buffer>): Promise<Buffer> {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    archive.entry({ name, mode: 0o644, mtime: EPOCH, size: data.length, type: 'file' }, data);
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function readTar(data: Buffer): Promise<ArchiveEntry[]> {
  const extractor = extract();
  const entries: ArchiveEntry[] = [];
  const reading = (async () => {
    for await (const entry of extractor) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
      const type = entry.header.type === 'file' || entry.header.type === 'directory' ? entry.header.type : 'other';
      entries.push({ name: entry.header.name, type, data: Buffer.concat(chunks) });
    }
  })();
  // Truncated input surfaces as an 'error' event rather than through the iterator.
  return new Promise<ArchiveEntry[]>((resolve, reject) => {
    extractor.on('error', reject);
    reading.then(() => {
      resolve(entries);
    }, reject);
    extractor.end(data);
  });
}

export const FAIL_IMPORT_MARKER = 'coder-fake:fail';
export const FAIL_BUILD_MARKER = 'coder-fake:fail-build';
/** Builds of a template containing it stay running for a minute (until canceled): a real template's long apply. */
export const SLOW_BUILD_MARKER = 'coder-fake:slow-build';

const IMPORT_RE = /coder-fake:fail(?!-build)/;

/** What real Coder puts in `job.error` when terraform cannot even initialise the template (the detail is only in the log). */
export const IMPORT_ERROR = 'template import init error: initialize terraform: exit status 1';
/** What real Coder puts in `job.error` when `terraform apply` fails (or is interrupted by a cancel). */
export const BUILD_ERROR = 'terraform apply: exit status 1';

/** A marker line: the file, its 1-based line number, and the line as written. */
export interface MarkerHit {
  file: string;
  lineNo: number;
  line: string;
}

function findLine(entries: readonly ArchiveEntry[], matches: (line: string) => boolean): MarkerHit | null {
  for (const entry of entries) {
    if (entry.type !== 'file') continue;
    const lines = entry.data.toString('utf8').split(/\r?\n/);
    const index = lines.findIndex(matches);
    const line = lines[index];
    if (index >= 0 && line !== undefined) return { file: entry.name.replace(/^\.\//, ''), lineNo: index + 1, line };
  }
  return null;
}

/** `coder-fake:fail` anywhere in a file fails the template import, with real Coder's generic job.error. */
export function importFailure(entries: readonly ArchiveEntry[]): PlannedFailure | null {
  const hit = findLine(entries, (line) => IMPORT_RE.test(line));
  return hit ? { error: IMPORT_ERROR, source: hit } : null;
}

/** `coder-fake:fail-build` lets the import succeed but fails every workspace build. */
export function buildFailure(entries: readonly ArchiveEntry[]): PlannedFailure | null {
  const hit = findLine(entries, (line) => line.includes(FAIL_BUILD_MARKER));
  return hit ? { error: BUILD_ERROR, source: hit } : null;
}

/** `coder-fake:slow-build` anywhere in a file makes every workspace build of the version run for a minute. */
export function slowBuild(entries: readonly ArchiveEntry[]): boolean {
  return findLine(entries, (line) => line.includes(SLOW_BUILD_MARKER)) !== null;
}

export function readme(entries: readonly ArchiveEntry[]): string {
  const entry = entries.find((e) => e.type === 'file' && /^(\.\/)?README\.md$/i.test(e.name));
  return entry ? entry.data.toString('utf8') : '';
}
