# turnd container image: built on Debian bookworm, run on bookworm-slim
# with only the shared libraries turnd and turnctl load.
#
#   docker build -t turnd .
#   docker run -d --name turnd --network host --restart unless-stopped \
#       --ulimit nofile=65536:65536 \
#       -v /etc/turnd:/etc/turnd:ro turnd
#
# Run it with host networking (see conf/docker-compose.prod.yml): turnd
# hands clients relay addresses from 49152-65535, one UDP port per
# allocation, and tells them the host's address.  Publishing that range
# through Docker's NAT (-p 49152-65535:49152-65535/udp) means 16384 NAT
# rules, or 16384 docker-proxy processes, and relayed addresses the
# container does not know; so the range is not EXPOSEd here, only opened
# in the host firewall.  tests/deploy/docker_build.sh builds this file
# and starts turnd from the resulting image.

FROM debian:bookworm AS build

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends \
        build-essential meson ninja-build pkg-config python3 \
        libevent-dev libssl-dev libconfig-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# JOBS limits the compiler's parallelism ("" lets ninja choose).
ARG JOBS=""
RUN meson setup /build --buildtype=release --prefix=/usr/local \
    && meson compile -C /build ${JOBS:+-j "$JOBS"} turnd/turnd turnd/turnctl \
    && /build/turnd/turnd -n -c conf/turnd.conf \
    && install -D -s -m 0755 /build/turnd/turnd /out/usr/local/bin/turnd \
    && install -D -s -m 0755 /build/turnd/turnctl \
        /out/usr/local/bin/turnctl \
    && install -D -m 0640 conf/turnd.conf /out/etc/turnd/turnd.conf


FROM debian:bookworm-slim

# libevent's split libraries (core; openssl for TLS listeners; extra for
# the metrics HTTP server; pthreads for the workers), OpenSSL 3 and
# libconfig; nothing else.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends \
        libevent-core-2.1-7 libevent-openssl-2.1-7 \
        libevent-extra-2.1-7 libevent-pthreads-2.1-7 \
        libssl3 libconfig9 \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid and gid, so that files on the host (certificates, the
# configuration with its secrets) can be made readable to the container:
#   chgrp 3478 /etc/turnd/*; chmod 0640 /etc/turnd/*
ARG TURND_UID=3478
RUN groupadd --system --gid "$TURND_UID" turnd \
    && useradd --system --uid "$TURND_UID" --gid turnd \
        --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin turnd \
    && install -d -o root -g turnd -m 0750 /etc/turnd \
    && install -d -o turnd -g turnd -m 0750 /run/turnd

COPY --from=build /out/ /
RUN chown root:turnd /etc/turnd/turnd.conf

# turn:HOST:3478 (UDP and TCP) and turns:HOST:5349.  The relay range
# 49152-65535/udp is left out on purpose: see the top of this file.
EXPOSE 3478/udp 3478/tcp 5349/tcp

# The ports are above 1024, so turnd needs no capability at all.
USER turnd

# Liveness through the real protocol path with what the image already has
# (bash's /dev/udp, coreutils): an Allocate without credentials must get
# an Allocate response (401 normally; 400 with stun_only).  A Binding
# would not do: the production configuration sets no_stun and turnd
# drops Bindings silently then.  It assumes a UDP listener on
# 127.0.0.1:3478 (or 0.0.0.0:3478).  Once turnctl speaks to the control
# socket, `turnctl stats` (or GET /healthz on the metrics port) is the
# better check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/udp/127.0.0.1/3478 && printf '\\x00\\x03\\x00\\x08\\x21\\x12\\xa4\\x42healthcheck!\\x00\\x19\\x00\\x04\\x11\\x00\\x00\\x00' >&3 && timeout 3 head -c 2 <&3 | od -An -tx1 | grep -Eq '^ *01 (03|13)$'"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/turnd"]
CMD ["-c", "/etc/turnd/turnd.conf"]
