# arca's container image: build on Debian 12, run on a minimal Debian 12 root with only
# what the binary needs (its shared libraries and their closure, CA certificates, a
# non-root user).  docs/container.md: how to build and run it, compose, settings.
#
#   python3 src/server/gen_web.py --web-dir web --dist web/dist --build-only   (the web app:
#       Vite needs Node 20+, which Debian 12 has not; the build stage embeds web/dist)
#   podman build -t arca .        (or: docker build -t arca .)
#   podman run -d -p 8200:8200 -v arca-data:/data arca
#
# BASE: any Debian 12 image; with no registry, tools/container/test.sh makes one with
# mmdebstrap.
ARG BASE=debian:12-slim

FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      meson ninja-build pkg-config gcc libc6-dev python3 ca-certificates \
      libsodium-dev libmicrohttpd-dev libjansson-dev libyaml-dev libsqlite3-dev libpq-dev \
      libcurl4-openssl-dev libpcre2-dev zlib1g-dev
WORKDIR /src
COPY . .
# The Debian package first (tools/deb/build.sh), then installed with apt as a user would:
# apt resolves its dependencies and fails on a broken package, and the image is made of
# what it installed.
RUN meson setup /build -Dbuildtype=debugoptimized -Dtests=disabled \
 && ninja -C /build \
 && bash tools/deb/build.sh /build /out \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /out/arca_*.deb \
 && arca --version \
 && bash tools/container/rootfs.sh /rootfs

FROM scratch
COPY --from=build /rootfs /
USER 10001:10001
VOLUME /data
WORKDIR /data
EXPOSE 8200
# `arca status` asks GET /api/status (ARCA_API_URL, set here to the server in this
# container) and exits 0 on a 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/bin/arca", "status", "--api-url", "http://127.0.0.1:8200"]
ENTRYPOINT ["/usr/bin/arca"]
CMD ["server", "--listen", "0.0.0.0:8200", "--data-dir", "/data"]
