# Formatting and lints, per package, warnings denied.
set -euo pipefail
cargo fmt --all -- --check
for p in rolesanywhere-core rolesanywhere-agent rolesanywhere-mock rolesanywhere-benches rolesanywhere-tests; do
  cargo clippy -p "$p" --all-targets -- -D warnings
done
cargo clippy -p rolesanywhere-core --no-default-features -- -D warnings
# The agent without TLS, PKCS#11 and TPM: what type-checks for macOS/Windows.
cargo clippy -p rolesanywhere-agent --no-default-features -- -D warnings
