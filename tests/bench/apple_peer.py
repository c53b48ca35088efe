#!/usr/bin/env python3
"""The peer bcauth_bench measures itself against: Apple's authenticate token algorithm
(eciesEncryptionCofactorVariableIVX963SHA256AESGCM on P-384) as an integrator would write it in
Python with pyca `cryptography`. bcauth_bench drives it over stdin/stdout so its batches alternate
with bcauth's in one run; each batch is timed here in this thread's CPU time (as bcauth_bench
times its own), so neither pipe latency nor other processes on a shared machine are counted.

  -> key <base64 of the 48-byte scalar> <token>     <- ok <cryptography version> <its OpenSSL>
  -> decrypt N                                       <- CPU seconds for N decryptions of the token
  -> keygen N                                        <- CPU seconds for N key generations with export
"""
import base64
import sys
import time

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CURVE = ec.SECP384R1()


def decrypt(private_key, token):
    """token = E(97) || C || T(16); Z = x(d*E); KM = X9.63-KDF-SHA256(Z, E, 48); AES-256-GCM."""
    blob = base64.b64decode(token, validate=True)
    ephemeral = blob[:97]
    peer = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, ephemeral)  # checks the point
    z = private_key.exchange(ec.ECDH(), peer)
    km = X963KDF(algorithm=hashes.SHA256(), length=48, sharedinfo=ephemeral).derive(z)
    return AESGCM(km[:32]).decrypt(km[32:], blob[97:], None)


def keygen_with_export():
    """A request key as bcauth makes one: the responseEncryptionKey and the sealed key pair."""
    key = ec.generate_private_key(CURVE)
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    scalar = key.private_numbers().private_value.to_bytes(48, "big")
    return base64.b64encode(point), base64.b64encode(scalar + point)


def main():
    private_key = token = None
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "key":
            scalar = int.from_bytes(base64.b64decode(words[1]), "big")
            private_key = ec.derive_private_key(scalar, CURVE)
            token = words[2]
            decrypt(private_key, token)  # fails loudly now rather than inside a batch
            print("ok", cryptography.__version__, backend.openssl_version_text().replace(" ", "_"), flush=True)
        elif words[0] == "decrypt":
            count = int(words[1])
            start = time.thread_time()
            for _ in range(count):
                decrypt(private_key, token)
            print(time.thread_time() - start, flush=True)
        elif words[0] == "keygen":
            count = int(words[1])
            start = time.thread_time()
            for _ in range(count):
                keygen_with_export()
            print(time.thread_time() - start, flush=True)
        else:
            print("unknown command", flush=True)


if __name__ == "__main__":
    main()
