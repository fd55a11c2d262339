# Every unit and end-to-end test of the workspace.
set -euo pipefail
cargo test --workspace --no-fail-fast
