# coder-k8s container image: `make image` (needs a Docker engine).
# Stage 1 bundles the product (every module it runs, production dependencies only) into
# ES modules (dist/coder-k8s.mjs and dist/chunks/, split where code is loaded lazily);
# stage 2 is a minimal, shell-less Node 24 base running them as non-root.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY cmd ./cmd
COPY pkg ./pkg
COPY hack ./hack
COPY tsconfig.json ./
RUN node hack/dist.ts --bundle-only

FROM gcr.io/distroless/nodejs24-debian12:nonroot
LABEL org.opencontainers.image.title="coder-k8s" \
      org.opencontainers.image.description="Kubernetes operator and aggregated API server for Coder" \
      org.opencontainers.image.source="https://github.com/coder/coder-k8s" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=build /src/dist/ ./
USER 65532:65532
EXPOSE 6443 8080 8081
ENTRYPOINT ["/nodejs/bin/node", "/app/coder-k8s.mjs"]
