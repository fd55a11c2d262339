# Every unit and end-to-end test of the workspace.
set -euo pipefail
# rolesanywhere-tests runs target/debug/aws_signing_helper: --workspace builds the
# agent's binary (for its own integration tests) before any test runs.
cargo test --workspace --no-fail-fast
