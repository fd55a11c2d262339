# Fuzz smoke run: builds every cargo-fuzz target (nightly) and runs each for
# FUZZ_SECONDS (default 15) from seeds made here out of the test fixtures.
# A longer run is described in fuzz/README.md.
set -euo pipefail
FUZZ_SECONDS=${FUZZ_SECONDS:-10}

if [ ! -x .ci/tools/bin/cargo-fuzz ]; then
  cargo install --locked --root "$PWD/.ci/tools" cargo-fuzz --version 0.13.2
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

(cd fuzz && cargo fmt --check)
bash scripts/make-fuzz-seeds.sh fuzz/corpus

cargo +nightly fuzz build
for target in $(cargo +nightly fuzz list); do
  echo "--- fuzz $target (${FUZZ_SECONDS}s)"
  mkdir -p "fuzz/corpus/$target" # a target without seeds starts empty
  log=$(mktemp)
  if ! cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
      -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 80 "$log" >&2
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target" >&2
    exit 1
  fi
  grep -E 'DONE|stat::number_of_executed_units' "$log" || true
  rm -f "$log"
done
