#!/usr/bin/env bash
# footprint.sh [--runs N] [--signing] [--helper FILE]: what the shipped binary costs.
#
# 1. Size of the stripped release binary per target: the host's, and the
#    cross builds of scripts/ci.d/40-cross.sh when they exist (run that step,
#    or the cargo commands in hosts/linux/README.md, to make them).
# 2. On the host, for `credential-process` against the mock endpoint on
#    127.0.0.1 (P-256 and RSA-2048 keys, and a P-256 key in swtpm when swtpm
#    and tpm2-tools are installed, over HTTP and HTTPS): peak RSS
#    (/usr/bin/time's maximum resident set size) and wall time, the median
#    of N runs (default 21), process start and the mock's work included.
# 3. With --signing: the criterion signing bench next to `openssl speed` on
#    this machine, and their ratio.
# --helper FILE measures another host build of aws_signing_helper in step 2
# (e.g. one built with other features) instead of target/release's.
# Budgets: stripped aarch64 binary with every signer <= 3 MiB; peak RSS of
# one credential-process <= 6 MiB. Exit status 1 if the host RSS is over
# budget or the aarch64 binary exists and is.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=21
signing=no
helper=target/release/aws_signing_helper
while [ $# -gt 0 ]; do
  case "$1" in
  --runs) runs=$2; shift 2 ;;
  --signing) signing=yes; shift ;;
  --helper) helper=$2; shift 2 ;;
  *) echo "usage: $0 [--runs N] [--signing] [--helper FILE]" >&2; exit 2 ;;
  esac
done
if [ ! -x /usr/bin/time ]; then
  echo "footprint: /usr/bin/time is missing (apt-get install time)" >&2
  exit 1
fi

size_budget=$((3 * 1024 * 1024))
rss_budget_kib=$((6 * 1024))
status=0
host=$(rustc -vV | sed -n 's/^host: //p')

cargo build --quiet --release -p rolesanywhere-agent --bin aws_signing_helper
cargo build --quiet --release -p rolesanywhere-mock --bin mock-rolesanywhere

mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

profile=$(sed -n '/^\[profile.release\]/,/^$/p' Cargo.toml | grep -E '^[a-z-]+ =' | paste -sd, - | sed 's/,/, /g')
echo "== stripped release binary ([profile.release] $profile)"
printf '%-34s %10s %8s  %s\n' target bytes MiB features
for t in "$host" aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf aarch64-unknown-linux-musl; do
  f=target/$t/release/aws_signing_helper
  # The host's own build is target/release (what step 2 measures).
  [ "$t" = "$host" ] && f=$helper
  case "$t" in
  *-musl) features="tls, tpm (static: no PKCS#11)" ;;
  *) features="default (tls, pkcs11, tpm)" ;;
  esac
  if [ ! -e "$f" ]; then
    printf '%-34s %10s %8s  %s\n' "$t" - - "not built: bash scripts/ci.d/40-cross.sh"
    continue
  fi
  bytes=$(stat -c %s "$f")
  verdict=""
  if [ "$t" = aarch64-unknown-linux-gnu ]; then
    if [ "$bytes" -le "$size_budget" ]; then verdict="  within the 3 MiB budget"; else
      verdict="  OVER the 3 MiB budget"
      status=1
    fi
  fi
  printf '%-34s %10d %8s  %s%s\n' "$t" "$bytes" "$(mib "$bytes")" "$features" "$verdict"
done

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
bash scripts/make-fixtures.sh "$work/fx"
source scripts/mock.sh
start_mock target/release/mock-rolesanywhere http --timeout-secs 1800
http_url=$url
start_mock target/release/mock-rolesanywhere https --timeout-secs 1800 --tls
https_url=$url

# A persistent P-256 key in swtpm, when swtpm and tpm2-tools are here.
tcti=""
if command -v swtpm >/dev/null && command -v tpm2_createprimary >/dev/null; then
  bash scripts/swtpm-key.sh "$work/tpm" "$work/fx"
  pids+=("$(cat "$work/tpm/swtpm.pid")")
  tcti=$(cat "$work/tpm/tcti")
fi

args() { # key, url
  local key=(--certificate "$work/fx/$1.pem" --private-key "$work/fx/$1.pkcs8.pem")
  if [ "$1" = tpm ]; then
    key=(--certificate "$work/tpm/key.cert.pem" --private-key handle:0x81000010 --no-tpm-key-password)
  fi
  echo credential-process "${key[@]}" \
    --role-arn arn:aws:iam::123456789012:role/edge-gateway \
    --profile-arn arn:aws:rolesanywhere:us-east-1:123456789012:profile/6f4a3c2e-1111-2222-3333-444455556666 \
    --trust-anchor-arn arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0d8b0a0b-1111-2222-3333-444455556666 \
    --endpoint "$2"
}

echo
echo "== credential-process on $host ($helper), median of $runs runs (mock endpoint on 127.0.0.1, same machine)"
printf '%-22s %14s %16s\n' "key, transport" "wall time ms" "peak RSS KiB"
cases=("p256 http" "p256 https" "rsa2048 http" "rsa2048 https")
[ -n "$tcti" ] && cases+=("tpm http" "tpm https")
for case in "${cases[@]}"; do
  read -r key transport <<<"$case"
  {
    url=$http_url
    [ "$transport" = https ] && url=$https_url
    # shellcheck disable=SC2046
    set -- $(args "$key" "$url")
    # One untimed run: it must succeed (and warms the page cache).
    if ! env -i AWS_CA_BUNDLE="$work/fx/ca.pem" TPM2TOOLS_TCTI="$tcti" "$helper" "$@" >"$work/out" 2>"$work/err" ||
      ! grep -q '"AccessKeyId":"ASIA' "$work/out"; then
      echo "footprint: credential-process ($key, $transport) failed:" >&2
      cat "$work/err" >&2
      exit 1
    fi
    : >"$work/ms"
    : >"$work/rss"
    for _ in $(seq "$runs"); do
      t0=$EPOCHREALTIME
      env -i AWS_CA_BUNDLE="$work/fx/ca.pem" TPM2TOOLS_TCTI="$tcti" "$helper" "$@" >/dev/null
      t1=$EPOCHREALTIME
      awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }' >>"$work/ms"
      env -i AWS_CA_BUNDLE="$work/fx/ca.pem" TPM2TOOLS_TCTI="$tcti" /usr/bin/time -f %M -o "$work/one" "$helper" "$@" >/dev/null
      cat "$work/one" >>"$work/rss"
    done
    ms=$(median <"$work/ms")
    rss=$(median <"$work/rss")
    max_rss=$(sort -n "$work/rss" | tail -1)
    verdict="within the 6 MiB budget"
    if [ "$max_rss" -gt "$rss_budget_kib" ]; then
      verdict="OVER the 6 MiB budget (max $max_rss KiB)"
      status=1
    fi
    printf '%-22s %14s %16s  %s\n' "$key, $transport" "$ms" "$rss" "$verdict"
  }
done

if [ "$signing" = yes ]; then
  echo
  echo "== signing the string to sign: criterion (benches/benches/signing.rs) vs openssl speed"
  cargo bench --quiet -p rolesanywhere-benches --bench signing -- --warm-up-time 1 --measurement-time 3 \
    >"$work/bench.log" 2>&1 || { cat "$work/bench.log" >&2; exit 1; }
  openssl speed -seconds 3 rsa2048 rsa3072 rsa4096 ecdsap256 ecdsap384 >"$work/speed.log" 2>/dev/null
  printf '%-10s %14s %16s %8s\n' key "ours sign/s" "openssl sign/s" ratio
  for pair in "RSA-2048 rsa 2048" "RSA-3072 rsa 3072" "RSA-4096 rsa 4096" \
    "P-256 ecdsa nistp256" "P-384 ecdsa nistp384"; do
    set -- $pair
    est="target/criterion/sign string to sign (SHA-256)/$1/new/estimates.json"
    # The median in nanoseconds: {"mean":{...},"median":{"confidence_interval":{...},"point_estimate":N,...
    ns=$(sed -n 's/.*"median":{"confidence_interval":{[^}]*},"point_estimate":\([0-9.e+-]*\).*/\1/p' "$est")
    ours=$(awk -v ns="$ns" 'BEGIN { printf "%.0f", 1e9 / ns }')
    if [ "$2" = rsa ]; then
      theirs=$(awk -v bits="$3" '$1 == "rsa" && $2 == bits && $3 == "bits" { print $6; exit }' "$work/speed.log")
    else
      theirs=$(awk -v curve="($3)" '$3 == "ecdsa" && $4 == curve { print $7; exit }' "$work/speed.log")
    fi
    ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
    printf '%-10s %14s %16s %8s\n' "$1" "$ours" "$theirs" "$ratio"
  done
fi
exit "$status"
