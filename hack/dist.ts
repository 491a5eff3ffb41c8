// Builds the shipped artifacts:
//   dist/coder-k8s.mjs + dist/chunks/   every module the product runs, bundled as ES modules
//                                       split where they are loaded lazily (the Kubernetes
//                                       client only where the cluster is used); what the
//                                       container image runs with Node
//   dist/coder-k8s-linux-x64            a single executable: this Node binary with the whole
//                                       product bundled into one script and injected (Node's
//                                       single-executable-application support, which takes one
//                                       CommonJS script), needing no node_modules and no Node
// Usage: node hack/dist.ts [--bundle-only]
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { inject } from 'postject';
import { ROOT } from './lib/cluster.ts';

const DIST = join(ROOT, 'dist');
const ENTRY = join(ROOT, 'cmd', 'coder-k8s', 'main.ts');
const EXECUTABLE = join(DIST, `coder-k8s-${process.platform}-${process.arch}`);
// The fuse Node looks for to know a blob was injected (documented in Node's SEA guide).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

async function banner(): Promise<string> {
  const version = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return `// coder-k8s ${version.version}: bundled by hack/dist.ts`;
}

const common: BuildOptions = {
  entryPoints: [ENTRY],
  bundle: true,
  platform: 'node',
  target: 'node24',
  minifySyntax: true,
  legalComments: 'linked',
  logLevel: 'warning',
};

async function bundle(): Promise<void> {
  await rm(join(DIST, 'chunks'), { recursive: true, force: true });
  await build({
    ...common,
    outdir: DIST,
    format: 'esm',
    splitting: true,
    entryNames: 'coder-k8s',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    // CommonJS dependencies inside ES modules call require().
    banner: { js: `${await banner()}\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);` },
  });
}

async function executable(): Promise<void> {
  const work = join(DIST, 'sea');
  await mkdir(work, { recursive: true });
  const script = join(work, 'coder-k8s.cjs');
  await build({ ...common, outfile: script, format: 'cjs', legalComments: 'none', banner: { js: await banner() } });
  const config = join(work, 'sea-config.json');
  const blob = join(work, 'sea-prep.blob');
  await writeFile(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  await rm(EXECUTABLE, { force: true });
  await copyFile(process.execPath, EXECUTABLE);
  await inject(EXECUTABLE, 'NODE_SEA_BLOB', await readFile(blob), { sentinelFuse: SEA_FUSE });
  await rm(work, { recursive: true, force: true });
}

await bundle();
if (!process.argv.includes('--bundle-only')) await executable();
const built = join(DIST, 'coder-k8s.mjs');
console.log(`built ${process.argv.includes('--bundle-only') ? built : `${built} and ${EXECUTABLE}`}`);
