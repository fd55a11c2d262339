# Formatting and lints, per package, warnings denied.
set -euo pipefail
cargo fmt --all -- --check
for p in rolesanywhere-core rolesanywhere-agent rolesanywhere-mock rolesanywhere-benches; do
  cargo clippy -p "$p" --all-targets -- -D warnings
done
cargo clippy -p rolesanywhere-core --no-default-features -- -D warnings
