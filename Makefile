# coder-k8s — see README.md. Every target installs what it needs on demand.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE_BIN := node_modules/.bin
NODE := $(NODE_BIN)/node
NPM_STAMP := node_modules/.package-lock.json
export PATH := $(CURDIR)/$(NODE_BIN):$(PATH)

.PHONY: help deps tools tools-coder generate verify bench build dist image typecheck lint test test-unit test-integration test-contract test-e2e test-e2e-k3s dev dev-down clean

help: ## List targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-18s %s\n", $$1, $$2}'

# Installs the locked dependency tree when the lock file is newer than node_modules (a
# fresh clone included). npm ci refuses a lock file that lacks other platforms' optional
# binaries (@swc/core-darwin-*, ...), which a registry mirror serving only this platform
# cannot provide; npm install --no-save then installs the same locked versions.
$(NPM_STAMP): package-lock.json package.json
	npm ci --no-audit --no-fund || npm install --no-save --no-audit --no-fund
	@touch $(NPM_STAMP)

deps: $(NPM_STAMP) ## Install npm dependencies (npm ci) when needed

tools: ## Build the pinned kube-apiserver, kube-controller-manager, etcd, kubectl and helm (cached outside the clone)
	hack/tools.sh ensure

tools-coder: ## A real Coder's parts: coder v2.30.0 (AGPL) and terraform v1.5.7 built from Go modules (cached outside the clone; ~9 min cold), PostgreSQL installed when missing
	hack/ensure-postgresql.sh
	hack/tools.sh ensure coder terraform

generate: deps ## Regenerate CRDs (config/crd) and docs/crd-reference.md from pkg/api/coder
	$(NODE) hack/gen-crds.ts

verify: deps ## Fail when generated files are out of date
	$(NODE) hack/gen-crds.ts --check

bench: deps ## Benchmarks (printed percentiles and ratios; not part of make test)
	$(NODE) bench/fanout.ts
	$(NODE) --expose-gc bench/watch.ts
	$(NODE) bench/apiserver.ts

build: deps ## Compile TypeScript to dist/
	npm run --silent build

dist: deps ## The shipped artifacts: dist/coder-k8s.mjs + dist/chunks/ (bundled ES modules) and dist/coder-k8s-linux-x64 (a single executable)
	$(NODE) hack/dist.ts

IMAGE ?= ghcr.io/coder/coder-k8s:dev
image: ## Build the container image $(IMAGE) (needs a Docker engine)
	@if ! command -v docker >/dev/null 2>&1; then echo "make image: no docker command here; install Docker (or build the Dockerfile with any OCI builder)"; exit 1; fi
	@if ! docker info >/dev/null 2>&1; then echo "make image: the docker command cannot reach a Docker engine (docker info fails); start one or set DOCKER_HOST"; exit 1; fi
	docker build -t $(IMAGE) .

typecheck: deps ## Type-check everything (sources and tests)
	npm run --silent typecheck

lint: deps ## Lint (eslint, strict type-checked rules)
	npm run --silent lint

test-unit: deps ## Unit tests (pure logic)
	npm test --silent -- --selectProjects unit

test-integration: deps ## Integration tests: real HTTPS server against the fake Coder
	npm test --silent -- --selectProjects integration

test-contract: deps tools-coder ## Contract tests: the same scenarios against the fake Coder and a real coderd v2.30.0 (needs PostgreSQL)
	npm test --silent -- --selectProjects contract

test-e2e: deps tools tools-coder dist ## End-to-end: real kube-apiserver + etcd + kube-controller-manager, kubectl, the APIService; fake Coders and a real coderd
	npm test --silent -- --selectProjects e2e --runInBand

test-e2e-k3s: deps tools ## e2e against a k3s container with the image deployed by the chart (testcontainers; skips, saying why, without a container runtime)
	@if ! $(NODE) hack/container-runtime.ts; then echo "make test-e2e-k3s: skipped (the local control plane, make test-e2e, is the default)"; exit 0; fi; \
	npm test --silent -- --selectProjects k3s --runInBand

test: deps verify typecheck lint tools tools-coder dist ## Everything CI runs: generated-file check, typecheck, lint, unit, integration, contract and e2e tests
	npm test --silent -- --selectProjects unit integration contract
	npm test --silent -- --selectProjects e2e --runInBand

dev: deps tools $(if $(filter 1,$(REAL_CODER)),tools-coder) ## Local control plane + fake Coders + coder-k8s behind an APIService; writes .dev/kubeconfig. REAL_CODER=1 adds namespace real on a real coderd (and runs make tools-coder)
	$(NODE) hack/dev.ts up

dev-down: deps ## Stop what `make dev` started (state stays in .dev/)
	$(NODE) hack/dev.ts down

clean: ## Stop the dev environment and remove build outputs and local dev state
	-[ -d node_modules ] && $(NODE) hack/dev.ts down
	rm -rf dist coverage .dev
