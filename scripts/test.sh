#!/usr/bin/env bash
# The test command (README): installs what is missing, then formatting, lints,
# every test, and the builds that prove the no_std core and the edge targets. Each step is a file in
# scripts/ci.d, run in name order; a step that fails stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# Tests set the environment they depend on; these must not leak in from the machine.
unset AWS_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR HTTPS_PROXY HTTP_PROXY NO_PROXY https_proxy http_proxy no_proxy \
  AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID \
  AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_EC2_METADATA_SERVICE_ENDPOINT RUST_BACKTRACE 2>/dev/null || true
export PATH="$PWD/.ci/tools/bin:$PATH"

bash scripts/install-deps.sh

start=$(date +%s)
for step in scripts/ci.d/*.sh; do
  name=$(basename "$step" .sh)
  echo "=== $name"
  t0=$(date +%s)
  bash "$step"
  echo "=== $name done in $(( $(date +%s) - t0 ))s"
done
echo "=== all steps passed in $(( $(date +%s) - start ))s"
