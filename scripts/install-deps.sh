#!/usr/bin/env bash
# Installs what the build and the tests need on Debian 12: the C toolchains
# and libraries, SoftHSM2, swtpm, the ARM cross compilers, qemu-user, and the
# Rust targets. Idempotent and quiet when everything is there already.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
packages=(
  openssl pkg-config ca-certificates util-linux
  # PKCS#11 tests
  softhsm2 opensc
  # the TPM 2.0 tests: a software TPM, and the tools that make keys in it
  swtpm swtpm-tools tpm2-tools tpm2-openssl
  # ARM cross builds and running them
  gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross libc6-dev-armhf-cross
  qemu-user-static musl-tools
  # the bare-metal example (hosts/embedded) runs in an emulated Cortex-M4
  qemu-system-arm
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo not found; install Rust 1.89 or newer (https://rustup.rs) first" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add thumbv7em-none-eabihf aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf \
  aarch64-unknown-linux-musl >/dev/null
