# Formatting and lints, warnings denied. One clippy run over the whole
# workspace (features unified, every dependency checked once), then the
# feature sets that the workspace run does not see: core with no features
# (the no-heap build) and the agent without TLS, PKCS#11 and TPM (what
# type-checks for macOS and Windows).
set -euo pipefail
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p rolesanywhere-core --no-default-features -- -D warnings
cargo clippy -p rolesanywhere-agent --no-default-features -- -D warnings
