# mailnest appliance image (Debian bookworm, multi-stage).
#   docker build -t mailnest .                    → runtime image (slim, non-root)
#   docker build --target tester -t mailnest-tester .   → runtime + tcpdump/tshark/pytest for the lab run
# compose.yaml builds both; see there for how the services use them.

# ---- build stage: compiler, meson and the -dev packages ---------------------------
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      g++ meson ninja-build pkg-config \
      libuv1-dev libfmt-dev nlohmann-json3-dev catch2 libcrypt-dev \
      libh2o-dev libwslay-dev libssl-dev libgmime-3.0-dev libc-ares-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY meson.build meson_options.txt ./
COPY subprojects/ subprojects/
COPY src/ src/
# The console's files are compiled into the binary (web/console/meson.build).
COPY web/ web/
# Only what the unit tests need: a change to the e2e tests must not
# invalidate the compile layers below.
COPY tests/meson.build tests/
COPY tests/unit/ tests/unit/
# System packages only (no wrap downloads inside the build); the unit tests
# must pass before an image is made.
RUN meson setup build --wrap-mode=nofallback -Dtests=true -Dbench=false --prefix=/usr/local \
 && ninja -C build \
 && meson test -C build --suite unit --print-errorlogs \
 && strip build/mailnest

# ---- runtime stage: the binary and its shared libraries ---------------------------
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libuv1 libfmt9 libcrypt1 libh2o0.13 libwslay1 libssl3 libgmime-3.0-0 libc-ares2 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 mailnest \
 && useradd --system --uid 10001 --gid mailnest --home-dir /var/lib/mailnest --shell /usr/sbin/nologin mailnest \
 && install -d -o mailnest -g mailnest -m 0700 /var/mail/mailnest \
 && install -d -o mailnest -g mailnest /var/lib/mailnest
COPY --from=build /src/build/mailnest /usr/local/bin/mailnest
COPY etc/mailnest.json /etc/mailnest/mailnest.json
# Fail the build if a shared library is missing from the runtime stage.
RUN ! ldd /usr/local/bin/mailnest | grep -q "not found" \
 && /usr/local/bin/mailnest --check-config --config /etc/mailnest/mailnest.json
WORKDIR /var/lib/mailnest
USER mailnest
EXPOSE 2525 2110
# Health: GET /readyz on the container's own HTTP listener (loopback, port
# 8080 by default; HEALTH_HTTP_PORT if the command moves it): 200 only once
# journal recovery is done, every enabled listener is bound and the message
# index is built. No curl in the slim image: bash's /dev/tcp speaks HTTP/1.0.
ENV HEALTH_HTTP_PORT=8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${HEALTH_HTTP_PORT} && printf 'GET /readyz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && IFS= read -r -t 4 line <&3 && [[ $line =~ ^HTTP/1\\.[01]\\ 200 ]]"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/mailnest"]
# Containers listen on every interface of their own network namespace.
CMD ["--config", "/etc/mailnest/mailnest.json", "--mail-root", "/var/mail/mailnest", \
     "--smtp-listen", "0.0.0.0:2525", "--pop3-listen", "0.0.0.0:2110"]

# ---- tester stage: runtime + capture/validation tools and the e2 tests ---------------
FROM runtime AS tester
USER root
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      tcpdump tshark python3 python3-pytest iproute2 procps \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/mailnest
COPY etc/ etc/
COPY scripts/ scripts/
COPY tools/ tools/
COPY pytest.ini ./
COPY tests/e2e/ tests/e2e/
ENV MAILNEST_BINARY=/usr/local/bin/mailnest
HEALTHCHECK NONE
ENTRYPOINT []
CMD ["scripts/e2", "--external"]
