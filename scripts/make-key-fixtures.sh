#!/usr/bin/env bash
# make-key-fixtures.sh OUTDIR FIXDIR PASSWORD: password-protected key files for
# agent/tests/key_files.rs, made with the `openssl` CLI (3.0+) from the test PKI
# of scripts/make-fixtures.sh in FIXDIR. Nothing is downloaded.
#
# OUTDIR may already hold ML-DSA keys the test wrote (OpenSSL 3.0 cannot make
# them): mldsa44.pkcs8.der, mldsa65.pkcs8.der, mldsa87.pkcs8.der.
#
# Files written to OUTDIR, for K in rsa2048 p256 p384 (and the mldsa* present):
#   K.enc-PRF-CIPHER.pem   ENCRYPTED PRIVATE KEY, PBES2 + PBKDF2 (2048 iterations,
#                          OpenSSL's default) with PRF in sha1 sha256 sha384 sha512
#                          and CIPHER in aes128 aes192 aes256:
#                            openssl pkcs8 -topk8 -v2 aes-128-cbc -v2prf hmacWithSHA256 ...
#                          (sha1 = -v2prf hmacWithSHA1, which leaves the PRF out: the default)
#   K.enc-scrypt.pem       PBES2 + scrypt (N=16384, r=8, p=1) + aes-256-cbc: openssl pkcs8 -topk8 -scrypt
#   ML-DSA keys: `openssl pkcs8` 3.0 cannot read them, so the same PBES2 structures are
#   assembled from OpenSSL primitives: `openssl kdf PBKDF2|SCRYPT` derives the key,
#   `openssl enc -aes-N-cbc` encrypts the PKCS#8 DER, `openssl asn1parse -genconf` writes
#   the EncryptedPrivateKeyInfo. The same assembly is checked against `openssl pkcs8` on
#   the P-256 key first (openssl must decrypt it back to the same key).
#   p256.enc.der           DER EncryptedPrivateKeyInfo (openssl pkcs8 -topk8 -outform DER)
#   p256.enc-des3.pem      PBES2 with des-ede3-cbc (unsupported cipher)
#   p256.enc-pbes1.pem     pbeWithSHA1And3-KeyTripleDES-CBC (-v1: not PBES2)
#   PKCS#12 (openssl pkcs12 -export), password PASSWORD unless said otherwise:
#   p256-modern.p12        p256 leaf via the intermediate + root + intermediate (root first),
#                          OpenSSL 3 defaults: PBES2/PBKDF2-SHA256/AES-256-CBC, HMAC-SHA256 MAC
#   rsa2048-legacy.p12     -legacy: pbeWithSHAAnd3-KeyTripleDES-CBC key, RC2-40 certs, SHA-1 MAC;
#                          rsa2048 leaf via the intermediate + intermediate
#   p384-nopass.p12        -legacy with the empty password (what the original helper can read)
#   p384-modern.p12        p384 leaf alone, modern
#   nokey.p12              p256 certificate only (-nokeys)
#   nocert.p12             p256 key only (-nocerts)
set -euo pipefail

if [ "$#" -ne 3 ]; then
    echo "usage: $0 OUTDIR FIXDIR PASSWORD" >&2
    exit 2
fi
OUT=$(cd "$1" && pwd)
FIX=$(cd "$2" && pwd)
PW=$3
export PW
cd "$OUT"

ossl() {
    if ! openssl "$@" 2>openssl.err; then
        echo "make-key-fixtures: openssl $* failed:" >&2
        cat openssl.err >&2
        exit 1
    fi
}

PRFS=(sha1 sha256 sha384 sha512)
CIPHERS=(aes128 aes192 aes256)
cipher_name() { case $1 in aes128) echo aes-128-cbc ;; aes192) echo aes-192-cbc ;; aes256) echo aes-256-cbc ;; esac; }
key_len() { case $1 in aes128) echo 16 ;; aes192) echo 24 ;; aes256) echo 32 ;; esac; }
prf_name() { echo "hmacWith$(echo "$1" | tr a-z A-Z)"; }

# by_openssl KEY_PEM NAME: every PBES2 variant through `openssl pkcs8 -topk8`.
by_openssl() {
    local in=$1 name=$2 prf c
    for prf in "${PRFS[@]}"; do
        for c in "${CIPHERS[@]}"; do
            ossl pkcs8 -topk8 -in "$in" -v2 "$(cipher_name "$c")" -v2prf "$(prf_name "$prf")" \
                -passout env:PW -out "$name.enc-$prf-$c.pem"
        done
    done
    ossl pkcs8 -topk8 -in "$in" -scrypt -passout env:PW -out "$name.enc-scrypt.pem"
}

# assemble DER_IN PEM_OUT KDF PRF CIPHER: PBES2 from OpenSSL primitives.
# KDF is pbkdf2 or scrypt; PRF is ignored for scrypt.
assemble() {
    local der=$1 out=$2 kdf=$3 prf=$4 c=$5 salt iv key ct
    salt=$(openssl rand -hex 16)
    iv=$(openssl rand -hex 16)
    if [ "$kdf" = pbkdf2 ]; then
        key=$(openssl kdf -keylen "$(key_len "$c")" -kdfopt digest:"${prf^^}" -kdfopt pass:"$PW" \
            -kdfopt hexsalt:"$salt" -kdfopt iter:2048 PBKDF2 | tr -d ':')
    else
        key=$(openssl kdf -keylen "$(key_len "$c")" -kdfopt pass:"$PW" -kdfopt hexsalt:"$salt" \
            -kdfopt n:16384 -kdfopt r:8 -kdfopt p:1 SCRYPT | tr -d ':')
    fi
    ct=$(openssl enc "-$(cipher_name "$c")" -K "$key" -iv "$iv" -in "$der" | od -An -v -tx1 | tr -d ' \n')
    {
        echo "asn1=SEQUENCE:epki"
        echo "[epki]"
        echo "alg=SEQUENCE:alg"
        echo "data=FORMAT:HEX,OCTETSTRING:$ct"
        echo "[alg]"
        echo "oid=OID:1.2.840.113549.1.5.13"
        echo "params=SEQUENCE:pbes2"
        echo "[pbes2]"
        echo "kdf=SEQUENCE:kdf"
        echo "enc=SEQUENCE:enc"
        echo "[kdf]"
        if [ "$kdf" = pbkdf2 ]; then
            echo "oid=OID:1.2.840.113549.1.5.12"
            echo "params=SEQUENCE:pbkdf2"
            echo "[pbkdf2]"
            echo "salt=FORMAT:HEX,OCTETSTRING:$salt"
            echo "iter=INTEGER:2048"
            if [ "$prf" != sha1 ]; then
                echo "prf=SEQUENCE:prf"
                echo "[prf]"
                echo "oid=OID:$(prf_name "$prf")"
                echo "null=NULL"
            fi
        else
            echo "oid=OID:1.3.6.1.4.1.11591.4.11"
            echo "params=SEQUENCE:scrypt"
            echo "[scrypt]"
            echo "salt=FORMAT:HEX,OCTETSTRING:$salt"
            echo "n=INTEGER:16384"
            echo "r=INTEGER:8"
            echo "p=INTEGER:1"
        fi
        echo "[enc]"
        echo "oid=OID:$(cipher_name "$c")"
        echo "iv=FORMAT:HEX,OCTETSTRING:$iv"
    } >"$out.cnf"
    ossl asn1parse -genconf "$out.cnf" -noout -out "$out.der"
    # DER -> PEM with the ENCRYPTED PRIVATE KEY label.
    { echo "-----BEGIN ENCRYPTED PRIVATE KEY-----"; base64 -w 64 "$out.der"; echo "-----END ENCRYPTED PRIVATE KEY-----"; } >"$out"
    rm -f "$out.cnf" "$out.der"
}

by_assembly() {
    local der=$1 name=$2 prf c
    for prf in "${PRFS[@]}"; do
        for c in "${CIPHERS[@]}"; do
            assemble "$der" "$name.enc-$prf-$c.pem" pbkdf2 "$prf" "$c"
        done
    done
    assemble "$der" "$name.enc-scrypt.pem" scrypt - aes256
}

for K in rsa2048 p256 p384; do
    by_openssl "$FIX/$K.pkcs8.pem" "$K"
done

# The hand assembly must be what openssl itself reads: check it on P-256.
ossl pkcs8 -topk8 -nocrypt -in "$FIX/p256.pkcs8.pem" -outform DER -out p256.check.der
for kdf in pbkdf2 scrypt; do
    assemble p256.check.der p256.check.pem "$kdf" sha384 aes192
    ossl pkey -in p256.check.pem -passin env:PW -pubout -out p256.check.out.pub
    ossl pkey -in "$FIX/p256.pkcs8.pem" -pubout -out p256.check.want.pub
    if ! cmp -s p256.check.want.pub p256.check.out.pub; then
        echo "make-key-fixtures: hand-assembled PBES2 ($kdf) does not round-trip through openssl" >&2
        exit 1
    fi
done
rm -f p256.check.der p256.check.pem p256.check.out.pub p256.check.want.pub

for V in 44 65 87; do
    if [ -e "mldsa$V.pkcs8.der" ]; then
        by_assembly "mldsa$V.pkcs8.der" "mldsa$V"
    fi
done

ossl pkcs8 -topk8 -in "$FIX/p256.pkcs8.pem" -v2 aes-256-cbc -passout env:PW -outform DER -out p256.enc.der
ossl pkcs8 -topk8 -in "$FIX/p256.pkcs8.pem" -v2 des3 -passout env:PW -out p256.enc-des3.pem
ossl pkcs8 -topk8 -in "$FIX/p256.pkcs8.pem" -v1 PBE-SHA1-3DES -passout env:PW -out p256.enc-pbes1.pem

cat "$FIX/ca.pem" "$FIX/int.pem" >root-and-int.pem
ossl pkcs12 -export -inkey "$FIX/p256.pkcs8.pem" -in "$FIX/p256-via-int.pem" -certfile root-and-int.pem \
    -passout env:PW -out p256-modern.p12
ossl pkcs12 -export -legacy -inkey "$FIX/rsa2048.pkcs8.pem" -in "$FIX/rsa2048-via-int.pem" \
    -certfile "$FIX/int.pem" -passout env:PW -out rsa2048-legacy.p12
ossl pkcs12 -export -legacy -inkey "$FIX/p384.pkcs8.pem" -in "$FIX/p384.pem" -passout pass: -out p384-nopass.p12
ossl pkcs12 -export -inkey "$FIX/p384.pkcs8.pem" -in "$FIX/p384.pem" -passout env:PW -out p384-modern.p12
ossl pkcs12 -export -nokeys -in "$FIX/p256.pem" -passout env:PW -out nokey.p12
ossl pkcs12 -export -nocerts -inkey "$FIX/p256.pkcs8.pem" -passout env:PW -out nocert.p12
rm -f root-and-int.pem openssl.err
chmod 600 ./*
