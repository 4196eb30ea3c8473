#!/bin/sh
# HAProxy as Ray Serve starts it, with its stats page, Prometheus exporter and admin socket
# kept to this host. Ray 2.60's template binds the stats page (`bind *:<stats port>`) and the
# exporter (`bind :<metrics port>`) on every interface and creates the admin socket mode 666,
# with no setting to change any of it; it does let RAY_SERVE_HAPROXY_BINARY_PATH name the
# binary. So deployments/launch.py points that here: rewrite the generated config (the file
# after -f) in place, then run the real binary (HAPROXY_LOOPBACK_REAL_BINARY) unchanged.
# Rebinds only `bind :port` / `bind *:port` (no host given): the HTTP frontend keeps the
# host Serve was told.
set -eu
real="${HAPROXY_LOOPBACK_REAL_BINARY:?HAPROXY_LOOPBACK_REAL_BINARY is not set}"
host="${LAKEHOUSE_HAPROXY_ADMIN_HOST:-127.0.0.1}"
prev=""
for arg in "$@"; do
    if [ "$prev" = "-f" ] && [ -f "$arg" ]; then
        sed -i -E \
            -e "s/^([[:space:]]*bind[[:space:]]+)\*?:([0-9]+)([[:space:]]|$)/\1${host}:\2\3/" \
            -e "s/^([[:space:]]*stats socket[[:space:]]+[^[:space:]]+[[:space:]]+mode[[:space:]]+)[0-7]+/\1600/" \
            "$arg"
    fi
    prev="$arg"
done
exec "$real" "$@"
