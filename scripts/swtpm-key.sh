#!/usr/bin/env bash
# swtpm-key.sh DIR FIXTURES: a software TPM holding a persistent signing key,
# for the scripts that run the real binary with a TPM key (40-cross.sh,
# benches/footprint.sh; the Rust tests have their own, richer fixtures).
#
# Starts swtpm (TCP on a free loopback port pair, daemonised, state in DIR),
# makes a persistent P-256 signing key at 0x81000010 with tpm2-tools, and a
# clientAuth certificate for it issued by FIXTURES/ca.pem (scripts/make-fixtures.sh).
# Writes DIR/tcti (for TPM2TOOLS_TCTI), DIR/swtpm.pid (the caller kills it)
# and DIR/key.cert.pem.
set -euo pipefail
dir=$1
fx=$2
mkdir -p "$dir"
for _ in $(seq 10); do
  port=$(shuf -i 20000-60000 -n 1)
  if swtpm socket --tpm2 --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
    --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" --flags not-need-init,startup-clear \
    --tpmstate "dir=$dir" --pid "file=$dir/swtpm.pid" -d 2>"$dir/swtpm.err"; then
    break
  fi
  port=""
done
if [ -z "$port" ]; then
  echo "swtpm-key: swtpm did not start: $(cat "$dir/swtpm.err")" >&2
  exit 1
fi
tcti="swtpm:host=127.0.0.1,port=$port"
echo "$tcti" >"$dir/tcti"

cd "$dir"
export TPM2TOOLS_TCTI=$tcti
# swtpm has no resource manager: flush what each tool leaves loaded.
tpm2_createprimary -Q -C o -g sha256 -G ecc -c srk.ctx
tpm2_flushcontext -t
tpm2_create -Q -C srk.ctx -G ecc256 -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|sign' \
  -u key.tpub -r key.tpriv
tpm2_flushcontext -t
tpm2_load -Q -C srk.ctx -u key.tpub -r key.tpriv -c key.ctx
tpm2_flushcontext -t
tpm2_evictcontrol -Q -C o -c key.ctx 0x81000010 >/dev/null
tpm2_flushcontext -t
tpm2_readpublic -Q -c 0x81000010 -f pem -o key.pub.pem
printf '[leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\n' >leaf.cnf
openssl req -new -key "$fx/ca.key" -subj "/CN=tpm gateway" -out key.csr 2>/dev/null
openssl x509 -req -in key.csr -CA "$fx/ca.pem" -CAkey "$fx/ca.key" -force_pubkey key.pub.pem \
  -set_serial 0x7f10 -extfile leaf.cnf -extensions leaf -days 1 -sha256 -out key.cert.pem 2>/dev/null
