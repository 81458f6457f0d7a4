# cachefront edge image. Multi-stage: the build stage compiles TypeScript with the dev
# dependencies; the runtime stage has only production dependencies, the compiled code and the Lua
# scripts, and runs as the unprivileged "node" user.
#   docker build -t cachefront .
#   docker run -p 8080:8080 -v $PWD/infra/config:/etc/cachefront cachefront
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN (npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-audit --no-fund) && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY lua ./lua
COPY infra/redis.conf ./infra/redis.conf
COPY examples ./examples
USER node
# data plane, admin API, Prometheus metrics (all workers)
EXPOSE 8080 9091 9464
HEALTHCHECK --interval=10s --timeout=2s CMD node -e "fetch('http://127.0.0.1:9091/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/cachefront.mjs", "serve"]
CMD ["--config", "/etc/cachefront/cachefront.yaml"]
