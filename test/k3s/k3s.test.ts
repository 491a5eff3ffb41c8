// The chart and the image in a real cluster with a kubelet: a k3s container
// (testcontainers). Runs only where a container runtime exists (`make test-e2e-k3s`
// checks first and says why it skips); the local control plane stays the default.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { K3sContainer, type StartedK3sContainer } from '@testcontainers/k3s';
import { GenericContainer } from 'testcontainers';
import { ROOT } from '../../hack/lib/cluster.ts';
import { mustRun, run } from '../../hack/lib/process.ts';
import { eventually } from '../util/eventually.ts';

const IMAGE = 'coder-k8s:k3s-e2e';
const K3S_IMAGE = process.env.CODER_K8S_K3S_IMAGE ?? 'rancher/k3s:v1.33.4-k3s1';
const NS = 'coder-system';
const TOOLS = join(ROOT, 'hack', 'tools.sh');

let dir = '';
let k3s: StartedK3sContainer | undefined;
let kubeconfig = '';
let kubectlBin = '';
let helmBin = '';

const kubectl = (args: string[]) => run(kubectlBin, args, { env: { KUBECONFIG: kubeconfig } });
const mustKubectl = (args: string[]) => mustRun(kubectlBin, args, { env: { KUBECONFIG: kubeconfig } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coder-k8s-k3s-'));
  kubectlBin = (await mustRun(TOOLS, ['path', 'kubectl'])).trim();
  helmBin = (await mustRun(TOOLS, ['path', 'helm'])).trim();
  await GenericContainer.fromDockerfile(ROOT).build(IMAGE, { deleteOnExit: false });
  k3s = await new K3sContainer(K3S_IMAGE).start();
  kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, k3s.getKubeConfig(), { mode: 0o600 });
  // Hand the image to k3s' containerd: no registry needed.
  const archive = join(dir, 'image.tar');
  execFileSync('docker', ['save', IMAGE, '-o', archive]);
  await k3s.copyFilesToContainer([{ source: archive, target: '/tmp/image.tar' }]);
  const imported = await k3s.exec(['ctr', '-n', 'k8s.io', 'images', 'import', '/tmp/image.tar']);
  expect(imported.exitCode).toBe(0);
}, 900_000);

afterAll(async () => {
  await k3s?.stop();
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('in a k3s cluster', () => {
  it('helm install runs two replicas of the image behind the APIService, and upgrade and uninstall behave', async () => {
    const [repository, tag] = IMAGE.split(':');
    await mustRun(helmBin, ['install', 'coder-k8s', join(ROOT, 'charts', 'coder-k8s'), '-n', NS, '--create-namespace', '--set', `image.repository=${repository ?? ''}`, '--set', `image.tag=${tag ?? ''}`, '--set', 'image.pullPolicy=Never', '--wait', '--timeout=5m'], { env: { KUBECONFIG: kubeconfig } });
    await mustKubectl(['wait', '--for=condition=Available', 'apiservice/v1alpha1.aggregation.coder.com', '--timeout=180s']);
    const ready = JSON.parse(await mustKubectl(['get', 'deployment', 'coder-k8s', '-n', NS, '-o', 'json'])) as { status: { readyReplicas?: number } };
    expect(ready.status.readyReplicas).toBe(2);
    expect((await mustKubectl(['get', 'codertemplates', '-A', '-o', 'name'])).trim()).toBe('');
    const lease = await eventually('a leader', async () => {
      const out = await kubectl(['get', 'lease', 'coder-k8s-leader', '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}']);
      return out.code === 0 && out.stdout.trim() ? out.stdout.trim() : undefined;
    }, 120_000);
    expect(lease).toContain('coder-k8s');
    const bundle = await mustKubectl(['get', 'apiservice', 'v1alpha1.aggregation.coder.com', '-o', 'jsonpath={.spec.caBundle}']);
    await mustRun(helmBin, ['upgrade', 'coder-k8s', join(ROOT, 'charts', 'coder-k8s'), '-n', NS, '--reuse-values', '--set', 'logLevel=debug', '--wait', '--timeout=5m'], { env: { KUBECONFIG: kubeconfig } });
    expect(await mustKubectl(['get', 'apiservice', 'v1alpha1.aggregation.coder.com', '-o', 'jsonpath={.spec.caBundle}'])).toBe(bundle);
    await mustKubectl(['wait', '--for=condition=Available', 'apiservice/v1alpha1.aggregation.coder.com', '--timeout=60s']);
    await mustRun(helmBin, ['uninstall', 'coder-k8s', '-n', NS, '--wait'], { env: { KUBECONFIG: kubeconfig } });
    expect((await kubectl(['get', 'apiservice', 'v1alpha1.aggregation.coder.com'])).code).not.toBe(0);
  }, 900_000);
});
