# syntax=docker/dockerfile:1
# The StereoSpot Live server image: Node 24 (LTS), onnxruntime-node with its CUDA 12 execution provider
# (used when the container sees a GPU; CPU otherwise). Video is decoded and encoded in-process by libav
# (node-av's prebuilt binary, from npm): the server runs no ffmpeg executable.
# Build:  docker build -t stereospot-live .
# Run:    docker run --gpus all -p 8000:8000 --env-file .env stereospot-live
#
# uWebSockets.js for Node 24 comes from @btc-vision/uwebsockets.js 20.57.0 (installed as `uws-current`),
# whose binaries need glibc ≥ 2.38: the build stages use Debian 13 (trixie, 2.41) and the runtime stage
# NVIDIA's CUDA image on Ubuntu 24.04 (2.39). The same Node on a Debian 13 C library is run by
# test/runtime-debian13.test.ts (README "Runtime"); on an older C library the server refuses to start,
# naming the reason (server/uws-native.ts).

ARG NODE_IMAGE=node:24-trixie-slim
# CUDA 12 + cuDNN 9 runtime libraries for onnxruntime's CUDA provider, on a glibc new enough for uWS.
ARG RUNTIME_BASE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

# ── 1. Type-check the server with the dev dependencies ──────────────────────────────────────────────
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY types types
COPY protocol protocol
COPY actors actors
COPY gpu-pool gpu-pool
COPY server server
COPY web web
RUN npx tsc --noEmit -p tsconfig.build.json

# ── 2. Production dependencies; onnxruntime-node fetches its CUDA 12 binaries here ────────────────────
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund --onnxruntime-node-install=cuda12

# ── 3. Runtime ────────────────────────────────────────────────────────────────────────────────────────
FROM ${NODE_IMAGE} AS node
FROM ${RUNTIME_BASE} AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --uid 10001 stereospot
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY package.json tsconfig.json ./
COPY types types
COPY protocol protocol
COPY actors actors
COPY gpu-pool gpu-pool
COPY server server
COPY web web
# Reachable beyond loopback, so the server needs ADMIN_TOKEN (16+ characters) at run time and refuses
# to start without one (README Security); the Pulumi stack passes it from Secrets Manager.
ENV NODE_ENV=production PORT=8000 HOST=0.0.0.0 DATA_DIR=/data
RUN mkdir -p /data && chown stereospot /data
USER stereospot
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# tini forwards SIGTERM so the server shuts down in its fixed order (ECS stopTimeout 60 s).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "server/main.ts"]
