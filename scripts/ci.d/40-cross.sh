# The edge targets, built as shipped and run under qemu-user:
# - the agent, release profile, for aarch64 and armv7 glibc (every signer:
#   TLS, PKCS#11, TPM) and aarch64 musl (static: TLS and TPM; PKCS#11 modules
#   are loaded with dlopen, which a static binary cannot do);
# - each binary runs `version`, and `credential-process` with a P-256 key over
#   HTTP, an RSA-2048 key over HTTPS, and a persistent P-256 key in swtpm
#   (made here with tpm2-tools) against the mock endpoint on loopback (the
#   mock verifies signature, chain and scope independently);
# - core's whole test suite (every feature) on aarch64 and armv7;
# - the size budget: every binary at most 3 MiB stripped.
# Runner and linkers: .cargo/config.toml and hosts/linux/qemu-run.sh.
set -euo pipefail

budget_bytes=$((3 * 1024 * 1024))
gnu_targets=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)
musl_target=aarch64-unknown-linux-musl

# --- builds -----------------------------------------------------------------
# The musl build: the agent's default features minus PKCS#11 (dlopen).
defaults=$(sed -n 's/^default = \[\(.*\)\]/\1/p' agent/Cargo.toml | tr -d '" ' | tr ',' '\n')
musl_features=$(grep -vxE 'pkcs11' <<<"$defaults" | paste -sd, -)
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
# Each mock exits by itself after the requests of every target (or 300 s).
source scripts/mock.sh
start_mock target/debug/mock-rolesanywhere http --max-requests 6 --timeout-secs 300
http_url=$url
start_mock target/debug/mock-rolesanywhere https --max-requests 3 --timeout-secs 300 --tls
https_url=$url

# --- a persistent P-256 key in swtpm, and a certificate for it ---------------
tpm=$work/tpm
bash scripts/swtpm-key.sh "$tpm" "$work/fx"
pids+=("$(cat "$tpm/swtpm.pid")")
tcti=$(cat "$tpm/tcti")

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
  for run in "p256 $http_url" "rsa2048 $https_url" "tpm $http_url"; do
    set -- $run
    local cert="$work/fx/$1.pem" key=("--private-key" "$work/fx/$1.pkcs8.pem")
    if [ "$1" = tpm ]; then
      cert=$tpm/key.cert.pem
      key=("--private-key" "handle:0x81000010" "--no-tpm-key-password")
    fi
    out=$(env -i PATH="$PATH" AWS_CA_BUNDLE="$work/fx/ca.pem" TPM2TOOLS_TCTI="$tcti" \
      hosts/linux/qemu-run.sh "$arch" "$exe" credential-process \
      --certificate "$cert" "${key[@]}" \
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
# Nine requests, nine verified answers.
ok=$(cat "$work/http.log" "$work/https.log" | grep -c -- '-> 201 (accepted)' || true)
if [ "$ok" -ne 9 ]; then
  echo "40-cross: the mock answered $ok requests with 201, expected 9:" >&2
  cat "$work/http.log" "$work/https.log" >&2
  exit 1
fi

# --- core's tests on the ARM targets ----------------------------------------
for t in "${gnu_targets[@]}"; do
  cargo test -p rolesanywhere-core --all-features --target "$t"
done

# --- size budget ---------------------------------------------------------------
over=0
for t in "${gnu_targets[@]}" "$musl_target"; do
  size=$(stat -c %s "$(bin "$t")")
  printf '40-cross: %-32s %9d bytes (stripped), %d under the 3 MiB budget\n' "$t" "$size" "$((budget_bytes - size))"
  if [ "$size" -gt "$budget_bytes" ]; then
    echo "40-cross: $t binary is $size bytes, over the 3 MiB budget" >&2
    over=1
  fi
done
exit "$over"
