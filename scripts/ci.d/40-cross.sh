# The edge targets, built as shipped and run under qemu-user:
# - the agent, release profile, for aarch64 and armv7 glibc (every signer:
#   TLS, PKCS#11, TPM) and aarch64 musl (static, file keys: the TPM signer
#   links glibc's libtss2 and PKCS#11 modules need dlopen);
# - each binary runs `version`, and `credential-process` with a P-256 key over
#   HTTP and an RSA-2048 key over HTTPS against the mock endpoint on loopback
#   (the mock verifies signature, chain and scope independently);
# - core's whole test suite (every feature) on aarch64 and armv7;
# - the size: the stripped aarch64 glibc binary (every signer) against a
#   3.5 MiB guard and the 3 MiB target, the static musl one against 3 MiB.
# Runner and linkers: .cargo/config.toml and hosts/linux/qemu-run.sh.
set -euo pipefail

# The target is 3 MiB with every signer. Today the TPM signer's tss-esapi
# pulls in `regex` (TCTI parsing) and the binary is 3.25 MiB, so the hard
# limit here is a regression guard at 3.5 MiB and the 3 MiB target is
# reported, not enforced, until the TCTI string is parsed without it
# (issue 5 stays open for that). The file-key static musl binary must meet
# 3 MiB outright.
budget_bytes=$((3 * 1024 * 1024))
guard_bytes=$((3584 * 1024))
gnu_targets=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)
musl_target=aarch64-unknown-linux-musl

# --- multiarch libtss2 for the TPM signer on the glibc targets -------------
if grep -q '^tss-esapi' agent/Cargo.toml; then
  need=()
  [ -e /usr/lib/aarch64-linux-gnu/pkgconfig/tss2-esys.pc ] || need+=(libtss2-dev:arm64)
  [ -e /usr/lib/arm-linux-gnueabihf/pkgconfig/tss2-esys.pc ] || need+=(libtss2-dev:armhf)
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    echo "40-cross: installing ${need[*]} (multiarch, for the TPM signer's libtss2)"
    $SUDO dpkg --add-architecture arm64
    $SUDO dpkg --add-architecture armhf
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

# --- builds -----------------------------------------------------------------
# The musl build: the agent's default features minus the two that need glibc.
defaults=$(sed -n 's/^default = \[\(.*\)\]/\1/p' agent/Cargo.toml | tr -d '" ' | tr ',' '\n')
musl_features=$(grep -vxE 'tpm|pkcs11' <<<"$defaults" | paste -sd, -)
for t in "${gnu_targets[@]}"; do
  cargo build --release -p rolesanywhere-agent --bin aws_signing_helper --target "$t"
done
cargo build --release -p rolesanywhere-agent --bin aws_signing_helper --target "$musl_target" \
  --no-default-features --features "$musl_features"
cargo build -p rolesanywhere-mock --bin mock-rolesanywhere

bin() { echo "target/$1/release/aws_signing_helper"; }
arch_of() { case "$1" in aarch64-*) echo aarch64 ;; armv7-*) echo arm ;; esac; }

# The musl binary must really be static: no program interpreter, no libraries.
if aarch64-linux-gnu-readelf -ld "$(bin "$musl_target")" | grep -qE 'INTERP|NEEDED'; then
  echo "40-cross: $(bin "$musl_target") is not static" >&2
  exit 1
fi

# --- run under qemu-user against the mock ------------------------------------
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

bash scripts/make-fixtures.sh "$work/fx"
start_mock() { # name, extra args...; sets $url
  local name=$1
  shift
  # One request per target; it exits by itself after them (or 300 s).
  target/debug/mock-rolesanywhere --fixtures "$work/fx" --max-requests 3 --timeout-secs 300 "$@" \
    >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do
    url=$(sed -n 's/^listening //p' "$work/$name.out")
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "40-cross: mock ($name) did not start:" >&2
  cat "$work/$name.log" >&2
  exit 1
}
start_mock http
http_url=$url
start_mock https --tls
https_url=$url

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
role=arn:aws:iam::123456789012:role/edge-gateway
profile=arn:aws:rolesanywhere:us-east-1:123456789012:profile/6f4a3c2e-1111-2222-3333-444455556666
anchor=arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0d8b0a0b-1111-2222-3333-444455556666

run_target() { # target
  local t=$1 arch exe out
  arch=$(arch_of "$t")
  exe=$(bin "$t")
  out=$(env -i PATH="$PATH" hosts/linux/qemu-run.sh "$arch" "$exe" version)
  if [ "$out" != "$version" ]; then
    echo "40-cross: $t: version printed '$out', expected '$version'" >&2
    exit 1
  fi
  for run in "p256 $http_url" "rsa2048 $https_url"; do
    set -- $run
    out=$(env -i PATH="$PATH" AWS_CA_BUNDLE="$work/fx/ca.pem" \
      hosts/linux/qemu-run.sh "$arch" "$exe" credential-process \
      --certificate "$work/fx/$1.pem" --private-key "$work/fx/$1.pkcs8.pem" \
      --role-arn "$role" --profile-arn "$profile" --trust-anchor-arn "$anchor" --endpoint "$2")
    if ! grep -qE '^\{"Version":1,"AccessKeyId":"ASIA[A-Z0-9]+","SecretAccessKey":"[^"]+","SessionToken":"[^"]+","Expiration":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"\}$' <<<"$out"; then
      echo "40-cross: $t: credential-process ($1, $2) printed: $out" >&2
      exit 1
    fi
    echo "40-cross: $t: credential-process with $1 over ${2%%:*}: ok"
  done
}
for t in "${gnu_targets[@]}" "$musl_target"; do
  run_target "$t"
done
# Six requests, six verified answers.
ok=$(cat "$work/http.log" "$work/https.log" | grep -c -- '-> 201 (accepted)' || true)
if [ "$ok" -ne 6 ]; then
  echo "40-cross: the mock answered $ok requests with 201, expected 6:" >&2
  cat "$work/http.log" "$work/https.log" >&2
  exit 1
fi

# --- core's tests on the ARM targets ----------------------------------------
for t in "${gnu_targets[@]}"; do
  cargo test -p rolesanywhere-core --all-features --target "$t"
done

# --- size budget ---------------------------------------------------------------
for t in "${gnu_targets[@]}" "$musl_target"; do
  printf '40-cross: %-32s %9d bytes (stripped)\n' "$t" "$(stat -c %s "$(bin "$t")")"
done
size=$(stat -c %s "$(bin aarch64-unknown-linux-gnu)")
if [ "$size" -gt "$budget_bytes" ]; then
  echo "40-cross: NOTE aarch64 binary with every signer is $size bytes, over the 3 MiB target by $((size - budget_bytes)) bytes (tss-esapi's regex)"
fi
if [ "$size" -gt "$guard_bytes" ]; then
  echo "40-cross: aarch64 binary is $size bytes, over the 3.5 MiB regression guard" >&2
  exit 1
fi
musl_size=$(stat -c %s "$(bin "$musl_target")")
if [ "$musl_size" -gt "$budget_bytes" ]; then
  echo "40-cross: static musl binary is $musl_size bytes, over the 3 MiB budget" >&2
  exit 1
fi
