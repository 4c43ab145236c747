# A hollow-node image with the engine built in, for `kubemark-cluster create --image IMAGE`.
# Not needed by default: `create` runs the engine on the stock node:24 image, shipped in a ConfigMap.
#   npm ci && npm run build && docker build -t REGISTRY/hollow-node:TAG .
FROM docker.io/library/node:24-slim
COPY dist/engine-bundle/hollow-node.mjs /opt/hollow-node/hollow-node.mjs
USER 1000:1000
WORKDIR /hollow
# The flags are ENGINE_NODE_FLAGS of src/fleet/spec.ts (a unit test keeps them equal).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=20", "/opt/hollow-node/hollow-node.mjs"]
