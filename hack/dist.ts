// Builds the shipped artifacts:
//   dist/coder-k8s.cjs          every module the product runs, bundled into one CommonJS file
//                               (what the container image runs with Node)
//   dist/coder-k8s-linux-x64    a single executable: this Node binary with the bundle
//                               injected (Node's single-executable-application support),
//                               which needs no node_modules and no Node installed
// Usage: node hack/dist.ts [--bundle-only]
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { inject } from 'postject';
import { ROOT } from './lib/cluster.ts';

const DIST = join(ROOT, 'dist');
const BUNDLE = join(DIST, 'coder-k8s.cjs');
const EXECUTABLE = join(DIST, `coder-k8s-${process.platform}-${process.arch}`);
// The fuse Node looks for to know a blob was injected (documented in Node's SEA guide).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

async function bundle(): Promise<void> {
  await mkdir(DIST, { recursive: true });
  const version = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  await build({
    entryPoints: [join(ROOT, 'cmd', 'coder-k8s', 'main.ts')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minifySyntax: true,
    legalComments: 'linked',
    logLevel: 'warning',
    banner: { js: `// coder-k8s ${version.version}: bundled by hack/dist.ts` },
  });
}

async function executable(): Promise<void> {
  const work = join(DIST, 'sea');
  await mkdir(work, { recursive: true });
  const config = join(work, 'sea-config.json');
  const blob = join(work, 'sea-prep.blob');
  await writeFile(config, JSON.stringify({ main: BUNDLE, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  await rm(EXECUTABLE, { force: true });
  await copyFile(process.execPath, EXECUTABLE);
  await inject(EXECUTABLE, 'NODE_SEA_BLOB', await readFile(blob), { sentinelFuse: SEA_FUSE });
  await rm(work, { recursive: true, force: true });
}

await bundle();
if (!process.argv.includes('--bundle-only')) await executable();
console.log(`built ${process.argv.includes('--bundle-only') ? BUNDLE : `${BUNDLE} and ${EXECUTABLE}`}`);
