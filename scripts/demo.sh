#!/usr/bin/env bash
# The demo (README): builds the helper and the bundled local Roles Anywhere
# endpoint, makes a test CA and a P-256 certificate with openssl, starts the
# endpoint on 127.0.0.1, and runs the real `aws_signing_helper
# credential-process` against it, so you see credentials come back without
# an AWS account. Everything stays on this machine and under target/demo.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v openssl >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq openssl >/dev/null; else sudo apt-get install -y openssl; fi
fi
command -v cargo >/dev/null 2>&1 || { echo "demo: cargo not found; install Rust 1.89 or newer first" >&2; exit 1; }

cargo build --quiet -p rolesanywhere-agent -p rolesanywhere-mock
bin=target/debug
fixtures=target/demo/fixtures
bash scripts/make-fixtures.sh "$fixtures" >/dev/null

# The endpoint answers one request, then exits; it never outlives 60 s.
fifo=$(mktemp -u)
mkfifo "$fifo"
"$bin/mock-rolesanywhere" --fixtures "$fixtures" --max-requests 1 --timeout-secs 60 >"$fifo" 2>/dev/null &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true; rm -f "$fifo"' EXIT
read -r _ url <"$fifo"

echo "Local Roles Anywhere endpoint: $url (trusts $fixtures/ca.pem)" >&2
echo "Running: aws_signing_helper credential-process --certificate p256.pem --private-key p256.pkcs8.pem ..." >&2
"$bin/aws_signing_helper" credential-process \
  --certificate "$fixtures/p256.pem" \
  --private-key "$fixtures/p256.pkcs8.pem" \
  --role-arn arn:aws:iam::123456789012:role/edge-gateway \
  --profile-arn arn:aws:rolesanywhere:us-east-1:123456789012:profile/6f4a3c2e-1111-2222-3333-444455556666 \
  --trust-anchor-arn arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0d8b0a0b-1111-2222-3333-444455556666 \
  --endpoint "$url"
echo
