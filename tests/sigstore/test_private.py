#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""verify-blob against a private Sigstore instance made here
(tests/fixtures/sigstorelib.py: test CA, CT log, Rekor-shaped log): the bundle
verifies under that instance's trusted root and no other; each part tampered
with (certificate, SCT, SET, inclusion proof, checkpoint, payload, identity,
issuer) is refused, exit 1, with a reason that names the part.
  test_private.py PATH/TO/stowaway"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import sigstorelib as S  # noqa: E402

ID = "https://github.com/example/app/.github/workflows/release.yml@refs/tags/v1"
ISS = "https://token.actions.githubusercontent.com"


def main(sw):
    failed = 0
    inst = S.Instance(time.time())
    with tempfile.TemporaryDirectory(prefix="stowaway-sigstore-") as d:
        art = os.path.join(d, "artifact")
        with open(art, "wb") as f:
            f.write(b"release tarball\n")
        digest = hashlib.sha256(b"release tarball\n").hexdigest()
        root = os.path.join(d, "trusted_root.json")
        with open(root, "w") as f:
            json.dump(inst.trusted_root(), f)
        stmt = S.statement("artifact", digest)

        def verify(tamper, *extra, trusted=root):
            b = os.path.join(d, "bundle-%s.json" % tamper)
            with open(b, "w") as f:
                f.write(inst.bundle(stmt, ID, ISS, tamper=tamper))
            args = [sw, "verify-blob", "-f", "json", "--bundle", b, "--trusted-root", trusted,
                    "--certificate-identity", ID, "--certificate-oidc-issuer", ISS] + list(extra) + [art]
            r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            return r.returncode, (json.loads(r.stdout) if r.stdout.startswith("{") else {"reason": r.stderr})

        def check(what, cond, detail):
            nonlocal failed
            print("%s %s%s" % ("ok  " if cond else "FAIL", what, "" if cond else ": %s" % (detail,)))
            failed += not cond

        rc, doc = verify(None)
        check("a private instance's bundle verifies", rc == 0 and doc.get("verified"), doc)
        rc, doc = verify(None, trusted=os.path.join(HERE, "..", "..", "data", "sigstore", "trusted_root.json"))
        check("not under the public-good root", rc == 1, doc)
        for part in S.PARTS:
            rc, doc = verify(part)
            check("tampered %s: refused naming it" % part,
                  rc == 1 and doc.get("reason", "").startswith(S.EXPECTED_REASON[part]), (rc, doc.get("reason")))
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
