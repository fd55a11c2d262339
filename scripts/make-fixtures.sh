#!/usr/bin/env bash
# make-fixtures.sh OUTDIR: build the test PKI for the IAM Roles Anywhere helper
# and its mock CreateSession server, using only the `openssl` CLI (3.0+).
# Nothing is downloaded. Idempotent: exits at once when OUTDIR/.complete exists
# (written last), and serialised with flock when several callers race.
#
# Files in OUTDIR:
#   ca.key, ca.pem            root CA "Test Roles Anywhere Root CA" (P-256); the trust anchor
#   int.key, int.pem          intermediate CA (RSA-2048) signed by the root
#   chain.pem                 the intermediates bundle (= int.pem), for X-Amz-X509-Chain
#   For K in rsa2048, p256, p384:
#     K.pem                   leaf "CN=K leaf" signed by the root (clientAuth, digitalSignature),
#                             explicit serial (SERIAL below): rsa2048 0x8A3F5C7E9B1D2F4608
#                             = 2550216345498839631368, p256 0x1234ABCD = 305441741, p384
#                             0xF00DFACE0123456789ABCDEF = 74293302784509788797906177519
#                             (rsa2048's and p384's need a leading 0x00 in DER: top bit set)
#     K.der                   the same leaf certificate in DER
#     K.pkcs8.pem / .pkcs8.der the private key as PKCS#8 ("PRIVATE KEY") PEM / DER
#     K.pkcs1.pem             RSA only: the key as PKCS#1 ("RSA PRIVATE KEY")
#     K.sec1.pem              EC only: the key as SEC1 ("EC PRIVATE KEY")
#     K-via-int.pem           a leaf with the same key, signed by the intermediate
#   p384.pem is signed by the root with ecdsa-with-SHA384 (the others with ecdsa-with-SHA256).
#   server.key, server.pem    TLS server cert (P-256) for DNS:localhost, IP:127.0.0.1, signed by the root
#   expired.pem               leaf for p256.pkcs8.pem signed by the root, valid 2020-01-01..2020-01-02 only
#   untrusted-ca.key/.pem     a second, unrelated root CA (P-256)
#   untrusted.pem             leaf for p256.pkcs8.pem signed by the unrelated root (403 Untrusted tests)
#   .complete, .lock          bookkeeping of this script
# Validity: 3650 days from now (expired.pem aside). Runs in about a second.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1
[ -e "$OUT/.complete" ] && exit 0
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# Serialise concurrent runs on the same OUTDIR.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$OUT/.lock"
    flock 9
    [ -e "$OUT/.complete" ] && exit 0
fi

WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# Run openssl quietly; on failure show its stderr and stop.
ossl() {
    if ! openssl "$@" 2>openssl.err; then
        echo "make-fixtures: openssl $* failed:" >&2
        cat openssl.err >&2
        exit 1
    fi
}

cat >ext.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_int]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

ec_key() { ossl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$2" -pkeyopt ec_param_enc:named_curve -out "$1"; }
rsa_key() { ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }

# self_signed KEY CERT SUBJECT
self_signed() {
    ossl req -new -x509 -config ext.cnf -extensions v3_ca -key "$1" -out "$2" \
        -subj "$3" -days 3650 -sha256
}
# issue KEY CERT SUBJECT CA_CERT CA_KEY SERIAL EXT [DIGEST]
issue() {
    ossl req -new -config ext.cnf -key "$1" -subj "$3" -out "$2.csr"
    ossl x509 -req -in "$2.csr" -CA "$4" -CAkey "$5" -set_serial "$6" \
        -extfile ext.cnf -extensions "$7" -days 3650 "-${8:-sha256}" -out "$2"
    rm -f "$2.csr"
}

# Root and intermediate.
ec_key ca.key P-256
self_signed ca.key ca.pem "/CN=Test Roles Anywhere Root CA"
rsa_key int.key
issue int.key int.pem "/CN=Test Roles Anywhere Intermediate CA" ca.pem ca.key 0x1001 v3_int
cp int.pem chain.pem

# SERIAL: root-signed leaf / intermediate-signed leaf, per key type.
declare -A SERIAL=(
    [rsa2048]=0x8A3F5C7E9B1D2F4608 [rsa2048-via-int]=0x2B7E151628AED2A6
    [p256]=0x1234ABCD               [p256-via-int]=0x3C4D5E6F7A8B9C0D
    [p384]=0xF00DFACE0123456789ABCDEF [p384-via-int]=0x4E5F60718293A4B5
)

for K in rsa2048 p256 p384; do
    case $K in
        rsa2048) rsa_key "$K.pkcs8.pem"; ossl rsa -in "$K.pkcs8.pem" -traditional -out "$K.pkcs1.pem"; dg=sha256 ;;
        p256) ec_key "$K.pkcs8.pem" P-256; ossl ec -in "$K.pkcs8.pem" -out "$K.sec1.pem"; dg=sha256 ;;
        p384) ec_key "$K.pkcs8.pem" P-384; ossl ec -in "$K.pkcs8.pem" -out "$K.sec1.pem"; dg=sha384 ;;
    esac
    ossl pkcs8 -topk8 -nocrypt -in "$K.pkcs8.pem" -outform DER -out "$K.pkcs8.der"
    issue "$K.pkcs8.pem" "$K.pem" "/CN=$K leaf" ca.pem ca.key "${SERIAL[$K]}" leaf "$dg"
    ossl x509 -in "$K.pem" -outform DER -out "$K.der"
    issue "$K.pkcs8.pem" "$K-via-int.pem" "/CN=$K leaf via intermediate" int.pem int.key "${SERIAL[$K-via-int]}" leaf
done

# TLS server certificate for the mock.
ec_key server.key P-256
issue server.key server.pem "/CN=localhost" ca.pem ca.key 0x5E57 server

# Expired leaf: `openssl x509 -req` in 3.0 cannot set explicit dates, `openssl ca` can.
mkdir -p ca-db
: >ca-db/index.txt
echo 7E01 >ca-db/serial
cat >ca.cnf <<'EOF'
[ca]
default_ca = test_ca
[test_ca]
dir = ./ca-db
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
x509_extensions = leaf
[any]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
EOF
ossl req -new -config ext.cnf -key p256.pkcs8.pem -subj "/CN=p256 expired leaf" -out expired.csr
ossl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.full.pem \
    -startdate 20200101000000Z -enddate 20200102000000Z -notext
ossl x509 -in expired.full.pem -out expired.pem
rm -rf ca-db expired.csr expired.full.pem ca.cnf

# An unrelated root and a leaf under it.
ec_key untrusted-ca.key P-256
self_signed untrusted-ca.key untrusted-ca.pem "/CN=Untrusted Test Root CA"
issue p256.pkcs8.pem untrusted.pem "/CN=p256 untrusted leaf" untrusted-ca.pem untrusted-ca.key 0x6A6B6C6D leaf

rm -f ext.cnf openssl.err
chmod 600 ./*.key ./*.pkcs8.pem ./*.pkcs8.der ./*.pkcs1.pem ./*.sec1.pem
mv -f ./* "$OUT"/
touch "$OUT/.complete"
