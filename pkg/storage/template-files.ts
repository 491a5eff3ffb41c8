import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import { badRequest, requestEntityTooLarge } from '../api/meta/status-error.ts';

export interface FileLimits {
  maxFileBytes: number;
  maxTotalBytes: number;
  maxEntries: number;
}

export const DEFAULT_FILE_LIMITS: FileLimits = {
  maxFileBytes: 1024 * 1024,
  maxTotalBytes: 4 * 1024 * 1024,
  maxEntries: 1000,
};

/**
 * Checks spec.files paths and sizes. Paths must be relative, slash-separated, free of
 * "..", backslashes and control characters, and unique after normalisation, because the
 * archive Coder builds from them must unpack to exactly these files.
 */
export function validateTemplateFiles(files: Record<string, string>, limits: FileLimits = DEFAULT_FILE_LIMITS): Map<string, string> {
  const entries = Object.entries(files);
  if (entries.length === 0) throw badRequest('spec.files: must contain at least one file');
  if (entries.length > limits.maxEntries) {
    throw requestEntityTooLarge(`spec.files: ${entries.length} files exceed the limit of ${limits.maxEntries}`);
  }
  const normalised = new Map<string, string>();
  let total = 0;
  for (const [path, content] of entries) {
    const field = `spec.files[${path}]`;
    if (path === '') throw badRequest('spec.files: file path must not be empty');
    if (path.includes('\\')) throw badRequest(`${field}: path must use "/" separators, not backslashes`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(path)) throw badRequest(`${field}: path must not contain control characters`);
    if (path.startsWith('/')) throw badRequest(`${field}: path must be relative`);
    if (path.split('/').includes('..')) throw badRequest(`${field}: path must not contain ".."`);
    const clean = posix.normalize(path).replace(/^(\.\/)+/, '');
    if (clean === '.' || clean === '' || clean.endsWith('/')) throw badRequest(`${field}: path must name a file`);
    if (normalised.has(clean)) throw badRequest(`${field}: duplicates another path after normalisation (${clean})`);
    const size = Buffer.byteLength(content, 'utf8');
    if (size > limits.maxFileBytes) {
      throw requestEntityTooLarge(`${field}: ${size} bytes exceed the per-file limit of ${limits.maxFileBytes}`);
    }
    total += size;
    if (total > limits.maxTotalBytes) {
      throw requestEntityTooLarge(`spec.files: total size exceeds the archive limit of ${limits.maxTotalBytes} bytes`);
    }
    normalised.set(clean, content);
  }
  // Paths that are both a file and a directory cannot be unpacked.
  for (const path of normalised.keys()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (normalised.has(dir)) throw badRequest(`spec.files[${dir}]: is a file but also a directory of ${path}`);
    }
  }
  return normalised;
}

/** A deterministic tar (sorted, fixed mode/owner/mtime) so identical files give identical bytes. */
export async function packTemplateFiles(files: Map<string, string>, modes: Record<string, number> = {}): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    archive.on('end', resolve);
    archive.on('error', reject);
  });
  for (const path of [...files.keys()].sort()) {
    archive.entry({ name: path, mode: modes[path] ?? 0o644, mtime: new Date(0), uid: 0, gid: 0 }, files.get(path) ?? '');
  }
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface UnpackedFiles {
  files: Record<string, string>;
  /** Entries left out because they are not UTF-8 text (spec.files holds text only). */
  skipped: string[];
  /** File modes by path, so a republished archive keeps executable bits. */
  modes: Record<string, number>;
}

export async function unpackTemplateFiles(archive: Buffer): Promise<UnpackedFiles> {
  const files: Record<string, string> = {};
  const skipped: string[] = [];
  const modes: Record<string, number> = {};
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const name = header.name.replace(/^(\.\/)+/, '');
        if (header.type === 'file' && name) {
          modes[name] = header.mode & 0o777;
          try {
            files[name] = decoder.decode(Buffer.concat(chunks));
          } catch {
            skipped.push(name);
          }
        }
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([archive]).pipe(ex);
  await done;
  return { files, skipped, modes };
}

export function sameFiles(a: Record<string, string>, b: Map<string, string> | Record<string, string>): boolean {
  const other = b instanceof Map ? b : new Map(Object.entries(b));
  const keys = Object.keys(a);
  return keys.length === other.size && keys.every((k) => other.get(k) === a[k]);
}
