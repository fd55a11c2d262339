# The edge budgets, enforced: benches/footprint.sh builds the host release
# binary (every signer), prints the stripped sizes of it and of the cross
# builds 40-cross.sh made, and runs credential-process against the mock
# (P-256 and RSA-2048, HTTP and HTTPS), failing if the median peak RSS of any
# is over 6 MiB or the aarch64 binary is over 3 MiB. Seven runs each here;
# the README's figures come from --runs 21.
set -euo pipefail
bash benches/footprint.sh --runs 7
