#!/usr/bin/env bash
# qemu-run.sh ARCH PROGRAM [ARGS...]: run an aarch64 or armv7 Linux binary on
# an x86_64 host with qemu-user. The cargo runner for the cross targets
# (.cargo/config.toml), and what scripts/ci.d/40-cross.sh uses.
#
# Which guest libraries: static binaries (musl) need none. Dynamic glibc ones
# need ld.so and libc from ONE glibc build. Debian has two copies: the cross
# sysroot (/usr/<triple>, package libc6-<arch>-cross) and, once multiarch
# packages such as libtss2-dev:arm64 are installed, /lib/<triple> (libc6:arm64).
# With both present, `-L /usr/<triple>` loads the sysroot's ld.so, which then
# finds the multiarch libc.so.6 through /etc/ld.so.cache: the versions differ
# and every thread spawn hangs (aarch64) or segfaults (armv7). So: if the
# multiarch loader exists, use `-L /`; otherwise the cross sysroot.
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: $0 aarch64|arm PROGRAM [ARGS...]" >&2
    exit 2
fi
arch=$1
shift
case "$arch" in
aarch64) triple=aarch64-linux-gnu loader=/lib/ld-linux-aarch64.so.1 ;;
arm) triple=arm-linux-gnueabihf loader=/lib/ld-linux-armhf.so.3 ;;
*)
    echo "$0: unknown architecture '$arch' (aarch64 or arm)" >&2
    exit 2
    ;;
esac

qemu=qemu-$arch-static
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "$0: $qemu not found (apt-get install qemu-user-static)" >&2
    exit 127
fi

if [ -z "${QEMU_LD_PREFIX:-}" ]; then
    if [ -e "$loader" ]; then
        export QEMU_LD_PREFIX=/
    else
        export QEMU_LD_PREFIX=/usr/$triple
    fi
fi
exec "$qemu" "$@"
