#!/bin/sh
# Test certificates for the migration channel (tests/unit/test_migration_tls.c and the
# emulator tests' labs): a CA, three hosts it signs (ECDSA P-256 a and b, RSA 2048
# rsa), and a host signed by another CA (rogue). Made fresh by the build with
# OpenSSL, never kept in the repository. Usage: make_test_certs.sh OUTDIR
set -eu
out=$1
mkdir -p "$out"
cd "$out"
days=3650
ext=ext.cnf
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' > $ext

ca() {   # NAME CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-out "$1.crt" -days $days -subj "/CN=$2" 2>/dev/null
}

host() {   # NAME CN CA KEYSPEC
	openssl req -newkey "$4" -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days $days \
		-extfile $ext -out "$1.crt" 2>/dev/null
	rm -f "$1.csr"
}

ca ca "Ferry test CA"
ca rogue-ca "Another CA"
host a ferry-a ca ec:ca.crt
host b ferry-b ca ec:ca.crt
host rsa ferry-rsa ca rsa:2048
host rogue ferry-rogue rogue-ca ec:ca.crt
openssl x509 -in a.crt -outform der -out a.der
openssl pkey -in a.key -outform der -out a.key.der
rm -f $ext ./*.srl
