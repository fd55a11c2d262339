#!/usr/bin/env bash
# make-fuzz-seeds.sh CORPUS: seed corpora for the cargo-fuzz targets in fuzz/,
# one folder per target under CORPUS, made from scripts/make-fixtures.sh's test
# PKI with the openssl CLI. Encrypted seeds use the password "fuzz" and one
# KDF iteration (scrypt N=1024, r=1) so they fit the fuzz targets' small caps.
# Existing corpus files (what fuzzing found) are kept.
set -euo pipefail
CORPUS=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FIX="$ROOT/target/fuzz-fixtures"
bash "$ROOT/scripts/make-fixtures.sh" "$FIX"
mkdir -p "$CORPUS"
CORPUS=$(cd "$CORPUS" && pwd)
for t in pem certificate private_key pkcs8_encrypted pkcs12 session_response sigv4 tss2_key tpm_response; do
  mkdir -p "$CORPUS/$t"
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
ossl() { openssl "$@" 2>/dev/null; }

cp "$FIX"/*.pem "$CORPUS/pem/"
for c in "$FIX"/*.pem; do
  ossl x509 -in "$c" -outform DER -out "$CORPUS/certificate/$(basename "$c" .pem).der" || true
done
rm -f "$CORPUS"/certificate/*.pkcs8.der "$CORPUS"/certificate/*.pkcs1.der "$CORPUS"/certificate/*.sec1.der

for k in rsa2048 p256 p384; do
  cp "$FIX/$k.pkcs8.pem" "$FIX/$k.pkcs8.der" "$CORPUS/private_key/"
done
cp "$FIX/rsa2048.pkcs1.pem" "$FIX/p256.sec1.pem" "$FIX/p384.sec1.pem" "$CORPUS/private_key/"
ossl rsa -in "$FIX/rsa2048.pkcs1.pem" -traditional -outform DER -out "$CORPUS/private_key/rsa2048.pkcs1.der"
ossl ec -in "$FIX/p256.sec1.pem" -outform DER -out "$CORPUS/private_key/p256.sec1.der"
# ML-DSA-65 PKCS#8 with a [0] seed (OpenSSL 3.0 cannot make one).
{ printf '\x30\x34\x02\x01\x00\x30\x0b\x06\x09\x60\x86\x48\x01\x65\x03\x04\x03\x12\x04\x22\x80\x20'
  printf '\x07%.0s' $(seq 32); } >"$CORPUS/private_key/mldsa65.seed.der"

i=0
for prf in hmacWithSHA1 hmacWithSHA256 hmacWithSHA384 hmacWithSHA512; do
  for c in aes-128-cbc aes-256-cbc; do
    i=$((i + 1))
    ossl pkcs8 -topk8 -in "$FIX/p256.pkcs8.pem" -v2 "$c" -v2prf "$prf" -iter 1 -passout pass:fuzz \
      -outform DER -out "$CORPUS/pkcs8_encrypted/p256-$prf-$c.der"
  done
done
ossl pkcs8 -topk8 -in "$FIX/rsa2048.pkcs8.pem" -v2 aes-192-cbc -iter 1 -passout pass:fuzz \
  -out "$CORPUS/pkcs8_encrypted/rsa2048-aes192.pem"
ossl pkcs8 -topk8 -in "$FIX/p384.pkcs8.pem" -scrypt -scrypt_N 1024 -scrypt_r 1 -scrypt_p 1 \
  -passout pass:fuzz -outform DER -out "$CORPUS/pkcs8_encrypted/p384-scrypt.der"

cat "$FIX/ca.pem" "$FIX/int.pem" >chain.pem
ossl pkcs12 -export -inkey "$FIX/p256.pkcs8.pem" -in "$FIX/p256-via-int.pem" -certfile chain.pem \
  -iter 1 -nomaciter -passout pass:fuzz -out "$CORPUS/pkcs12/p256-modern.p12"
ossl pkcs12 -export -legacy -inkey "$FIX/rsa2048.pkcs8.pem" -in "$FIX/rsa2048.pem" \
  -iter 1 -nomaciter -passout pass:fuzz -out "$CORPUS/pkcs12/rsa2048-legacy.p12"
ossl pkcs12 -export -legacy -inkey "$FIX/p384.pkcs8.pem" -in "$FIX/p384.pem" \
  -iter 1 -nomaciter -passout pass: -out "$CORPUS/pkcs12/p384-nopass.p12"
ossl pkcs12 -export -inkey "$FIX/p256.pkcs8.pem" -in "$FIX/p256.pem" -nomac \
  -iter 1 -passout pass:fuzz -out "$CORPUS/pkcs12/p256-nomac.p12"

R="$CORPUS/session_response"
printf '%s' '{"credentialSet":[{"assumedRoleUser":{"arn":"arn:aws:sts::123456789012:assumed-role/r/s","assumedRoleId":"AROAEXAMPLE:s"},"credentials":{"accessKeyId":"ASIAEXAMPLE","expiration":"2026-12-04T16:38:23Z","secretAccessKey":"secret","sessionToken":"token"},"packedPolicySize":0,"roleArn":"arn:aws:iam::123456789012:role/r","sourceIdentity":"CN=leaf"}],"subjectArn":"arn:aws:rolesanywhere:us-east-1:123456789012:subject/x"}' >"$R/ok.json"
printf '%s' '{"credentialSet":[]}' >"$R/empty.json"
printf '%s' '{"message":"Untrusted signing certificate"}' >"$R/error.json"
printf '%s' '{"__type":"AccessDeniedException","Message":"Invalid signature"}' >"$R/error-type.json"

S="$CORPUS/sigv4"
printf 'POST /sessions?profileArn=arn%%3Aaws&roleArn=r&trustAnchorArn=t\ncontent-type:application/json\nhost:rolesanywhere.us-east-1.amazonaws.com\nx-amz-date:20261204T153823Z\n\n{"durationSeconds":3600}' >"$S/sessions.txt"
printf 'GET /a/./b/../c//d%%20e?b=2&a=1&a=&c\nHost:example.amazonaws.com\nMy-Header1:  value   with  spaces \nmy-header1:second\n\n' >"$S/normalise.txt"
printf 'GET /\nhost:example.amazonaws.com\n\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' >"$S/hex-payload.txt"

# TSS2 PRIVATE KEY DER (no TPM here, so hand-built): emptyAuth 0x01 under the
# owner hierarchy with an ECC public area; a persistent parent with a
# description and rsaParent; a sealed-key OID with a policy.
T="$CORPUS/tss2_key"
printf '\x30\x25\x06\x06\x67\x81\x05\x0a\x01\x03\xa0\x03\x01\x01\x01\x02\x04\x40\x00\x00\x01\x04\x0a\x00\x08\x00\x23\x00\x0b\x00\x00\x00\x00\x04\x04\x00\x02\xde\xad' >"$T/owner-ecc.der"
printf '\x30\x2a\x06\x06\x67\x81\x05\x0a\x01\x03\xa4\x05\x0c\x03\x6b\x65\x79\xa5\x03\x01\x01\xff\x02\x05\x00\x81\x00\x00\x01\x04\x08\x00\x06\x00\x01\x00\x0b\x00\x00\x04\x03\x00\x01\x00' >"$T/persistent-rsa.der"
printf '\x30\x1e\x06\x06\x67\x81\x05\x0a\x01\x05\xa1\x0d\x30\x0b\x30\x09\xa0\x03\x02\x01\x01\xa1\x02\x04\x00\x02\x01\x01\x04\x00\x04\x00' >"$T/sealed-policy.der"

# TPM responses: a selector byte (bit 0: one handle, bit 1: sessions), then
# the frame. StartAuthSession (handle + 32-byte nonce), a Sign response with
# an ECDSA signature and an auth area, a ReadPublic of an ECC P-256 key, and
# an error (TPM_RC_BAD_AUTH).
P="$CORPUS/tpm_response"
printf "\\x01\\x80\\x01\\x00\\x00\\x00\\x30\\x00\\x00\\x00\\x00\\x02\\x00\\x00\\x00\\x00\\x20$(printf '\\x11%.0s' $(seq 32))" >"$P/start-session.bin"
printf '\x02\x80\x02\x00\x00\x00\x25\x00\x00\x00\x00\x00\x00\x00\x0c\x00\x18\x00\x0b\x00\x02\x01\x02\x00\x02\x03\x04\x00\x02\xaa\xbb\x00\x00\x04\xde\xad\xbe\xef' >"$P/sign-ecdsa.bin"
printf '\x00\x80\x01\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x16\x00\x23\x00\x0b\x00\x04\x04\x72\x00\x00\x00\x10\x00\x10\x00\x03\x00\x10\x00\x00\x00\x00\x00\x04\x00\x0b\xde\xad\x00\x00' >"$P/read-public.bin"
printf '\x03\x80\x01\x00\x00\x00\x0a\x00\x00\x09\xa2' >"$P/bad-auth.bin"
