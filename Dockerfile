# syntax=docker/dockerfile:1
# The StereoSpot Live server image: Node 20, onnxruntime-node with its CUDA 12 execution provider (used
# when the container sees a GPU; CPU otherwise). Video is decoded and encoded in-process by libav
# (node-av's prebuilt binary, from npm): the server runs no ffmpeg executable.
# Build:  docker build -t stereospot-live .
# Run:    docker run --gpus all -p 8000:8000 --env-file .env stereospot-live
#
# Why Node 20 (past its end of life): uWebSockets.js's only build on the npm registry
# (@trufflesuite/uws-js-unofficial 20.30.0) has native binaries for Node 16–20 alone; on a newer runtime
# it would fall back to a partial JavaScript server, which the server refuses at start
# (server/uws-native.ts). Everything else runs on the current LTS with Node's own type stripping —
# test/node-lts.test.ts runs it on Node 26 — so moving is one line here and `CMD ["node",
# "server/main.ts"]` once a uWS build for that runtime can be installed (README "Runtime").

ARG NODE_IMAGE=node:20-bookworm-slim
# CUDA 12 + cuDNN runtime libraries for onnxruntime's CUDA provider.
ARG RUNTIME_BASE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

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
ENV NODE_ENV=production PORT=8000 HOST=0.0.0.0 DATA_DIR=/data
RUN mkdir -p /data && chown stereospot /data
USER stereospot
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# tini forwards SIGTERM so the server shuts down in its fixed order (ECS stopTimeout 60 s).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "server/main.ts"]
