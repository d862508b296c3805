# syntax=docker/dockerfile:1

# notification-service: `docker build -t notification-service .`
#
# Three stages. `build` compiles every workspace with the dev dependencies; `prod-deps` installs
# the production dependencies alone (BuildKit runs the two in parallel); `runtime` is the slim
# image that ships: node_modules from `prod-deps` plus each package's package.json and dist.
#
# The image runs the API by default. The worker (outbox relay, Kafka consumers, dispatch loop) uses
# the same image with another command: `docker run notification-service node packages/workers/dist/main.js`.

# ---------------------------------------------------------------------------------------------
# build: npm ci with dev dependencies, then `tsc -b tsconfig.build.json` -> packages/*/dist
# ---------------------------------------------------------------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app

# Manifests first, so the dependency layer is rebuilt only when a manifest or the lockfile
# changes, not on every source edit. npm ci needs every workspace's package.json to link them.
COPY package.json package-lock.json ./
COPY packages/domain/package.json packages/domain/
COPY packages/core/package.json packages/core/
COPY packages/migrations/package.json packages/migrations/
COPY packages/server/package.json packages/server/
COPY packages/workers/package.json packages/workers/

# Compiling needs tsc only: no install script has to run (and none can compile native code in a
# slim image anyway).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund

COPY tsconfig.base.json tsconfig.build.json ./
COPY packages/ packages/
RUN npm run build

# ---------------------------------------------------------------------------------------------
# prod-deps: production dependencies only. The root package.json has only devDependencies, so
# `--omit=dev` leaves exactly the workspaces' dependencies, and npm links each workspace as
# node_modules/@notification-service/<name> -> ../../packages/<name> (a relative symlink that
# resolves once the runtime stage puts packages/<name>/{package.json,dist} next to it).
# ---------------------------------------------------------------------------------------------
FROM node:24-bookworm-slim AS prod-deps
WORKDIR /app
ENV NODE_ENV=production

COPY package.json package-lock.json ./
COPY packages/domain/package.json packages/domain/
COPY packages/core/package.json packages/core/
COPY packages/migrations/package.json packages/migrations/
COPY packages/server/package.json packages/server/
COPY packages/workers/package.json packages/workers/

# Native dependencies (@parcel/watcher, msgpackr-extract) load prebuilt binaries from their
# platform-specific optional packages; their install scripts are only build-from-source fallbacks.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------------------------
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app

# Root and workspace manifests plus node_modules (with the workspace symlinks).
COPY --from=prod-deps /app ./
# The compiled packages. Each dist is copied on its own: COPY of a directory copies its contents.
COPY --from=build /app/packages/domain/dist packages/domain/dist/
COPY --from=build /app/packages/core/dist packages/core/dist/
COPY --from=build /app/packages/migrations/dist packages/migrations/dist/
# The monolith's DDL (schema.sql, outbox.sql) for `legacy:prepare` and `legacy:seed` run from the image.
COPY --from=build /app/packages/migrations/legacy packages/migrations/legacy/
COPY --from=build /app/packages/server/dist packages/server/dist/
COPY --from=build /app/packages/workers/dist packages/workers/dist/

# The application files stay owned by root (read-only for the process). Only the embedded
# PGlite data directory (DATA_DIR, default ./.data, used when DATABASE_URL is unset) is writable.
RUN mkdir -p /app/.data && chown node:node /app/.data

# The base image's unprivileged `node` user (uid 1000). Kubernetes manifests that set
# `runAsNonRoot: true` should also set `runAsUser: 1000`, since this USER is a name.
USER node

# 3000: the API (PORT). 3001: the worker's probes and metrics (WORKER_PORT).
EXPOSE 3000 3001

# Liveness only (the process answers HTTP). No curl in slim images: node's own fetch does it.
# Either process's port will do, so the check holds for the API and for the worker.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const live=(port)=>fetch('http://127.0.0.1:'+port+'/health/live',{signal:AbortSignal.timeout(2500)}).then(r=>{if(!r.ok)throw new Error(String(r.status))});Promise.any([live(process.env.PORT||3000),live(process.env.WORKER_PORT||3001)]).then(()=>process.exit(0),()=>process.exit(1))"]

# node is PID 1 (exec-form CMD, no npm or shell in between), so SIGTERM reaches the server's
# shutdown sequence: readiness 503, pre-stop delay, drain, close the pool, exit 0.
STOPSIGNAL SIGTERM
CMD ["node", "packages/server/dist/main.js"]
