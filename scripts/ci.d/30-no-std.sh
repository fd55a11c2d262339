# The core builds for a Cortex-M4F with no heap (the ECDSA path) and with alloc.
set -euo pipefail
cargo build -p rolesanywhere-core --target thumbv7em-none-eabihf --no-default-features
cargo build -p rolesanywhere-core --target thumbv7em-none-eabihf --no-default-features --features alloc
