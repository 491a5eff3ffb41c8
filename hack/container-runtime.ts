// Exits 0 when testcontainers finds a container runtime (Docker, or whatever DOCKER_HOST
// names), else prints why and exits 1: `make test-e2e-k3s` skips with that reason.
import { getContainerRuntimeClient } from 'testcontainers';

try {
  const client = await getContainerRuntimeClient();
  console.log(`container runtime: ${client.info.containerRuntime.host}`);
} catch (err) {
  console.log(`no container runtime: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
