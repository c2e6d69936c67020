# dci-server container image: the `deno compile`d binary on a distroless runtime (glibc, no shell, no curl).
#   docker build -t dci-server .
#   docker run -p 8080:8080 -v dci-data:/data -e DCI_ADMIN_TOKEN=... dci-server
# TLS certificate reloads on SIGHUP (docker kill -s HUP) lose no queued connection with
#   --sysctl net.ipv4.tcp_migrate_req=1

# Build stage: the pinned Deno compiles the binary with the flags of deno.json's "compile" task.
FROM denoland/deno:2.9.6 AS build
WORKDIR /src
COPY deno.json deno.lock ./
COPY main.ts ./
COPY src/ src/
COPY migrations/ migrations/
# The server imports the SDK's canonical form and RFC 9421 components (one implementation for both sides).
COPY sdk/src/ sdk/src/
RUN deno install --frozen --entrypoint main.ts \
    && deno task compile \
    && mkdir -p /data

# Runtime stage: no shell or package manager; runs as the distroless "nonroot" user (uid 65532).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build --chown=65532:65532 /src/dist/dci-server /app/dci-server
COPY --from=build --chown=65532:65532 /data /data
ENV DCI_HOST=0.0.0.0 \
    DCI_PORT=8080 \
    DCI_DATA_DIR=/data
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=6s --start-period=30s --retries=3 \
    CMD ["/app/dci-server", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/dci-server"]
CMD ["serve"]
