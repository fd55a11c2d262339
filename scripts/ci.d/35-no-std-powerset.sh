# The no_std core, proven three ways:
# 1. every feature combination of core builds for a Cortex-M4F
#    (thumbv7em-none-eabihf; `std` excluded, it needs an OS; `default` is
#    empty);
# 2. the ECDSA path (parse, key check, sign, parse the answer, format the
#    output) and the TPM commands around a signature make no heap
#    allocation: core/tests/no_alloc.rs, without alloc;
# 3. the bare-metal example (hosts/embedded, no heap, no allocator linked)
#    links for a 512 KiB flash / 128 KiB RAM part, and runs one CreateSession
#    call against a canned answer in QEMU's emulated Cortex-M4 (mps2-an386).
# Replaces the former 30-no-std.sh (its two builds are part of the powerset).
set -euo pipefail

if [ ! -x .ci/tools/bin/cargo-hack ]; then
  cargo install --locked --root "$PWD/.ci/tools" cargo-hack
fi
.ci/tools/bin/cargo-hack hack build -p rolesanywhere-core --target thumbv7em-none-eabihf \
  --feature-powerset --exclude-features std,default

cargo test -p rolesanywhere-core --no-default-features --features tpm --test no_alloc

host=$(rustc -vV | sed -n 's/^host: //p')
firmware=target/embedded/thumbv7em-none-eabihf/release/rolesanywhere-embedded-example
(
  cd hosts/embedded
  cargo fmt --check
  cargo clippy --release -- -D warnings
  cargo clippy --release --features semihosting -- -D warnings
  cargo clippy --target "$host" --all-targets -- -D warnings
  cargo test --target "$host"
  cargo build --release
  cargo build --release --features semihosting
)
# Exit status comes from the firmware (semihosting SYS_EXIT): 0 = credentials parsed.
status=0
out=$(timeout 60 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
  -semihosting-config enable=on,target=native -kernel "$firmware") || status=$?
echo "$out"
if [ "$status" -ne 0 ]; then
  echo "35-no-std-powerset: the bare-metal example failed under qemu-system-arm (exit $status;" \
    "124 = hung, e.g. a stack overflow into unmapped memory)" >&2
  exit 1
fi
grep -q '^credentials: AccessKeyId=ASIAEMBEDDEDEXAMPLE1 Expiration=2026-12-04T18:30:00Z$' <<<"$out"
