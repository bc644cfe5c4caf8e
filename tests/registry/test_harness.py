#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Self-test of tests/fixtures/registry.py: every registry mode starts, takes a
push and serves it back (to urllib and to skopeo), and every FaultProxy fault
does what it says. Run: python3 tests/registry/test_harness.py
All traffic stays on 127.0.0.0/8."""
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))

from imagelib import E, Layer, MT_MANIFEST, config_for, oci_image, oci_index, sha  # noqa: E402
import registry as R  # noqa: E402

PASSED = FAILED = 0


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print("ok   %s" % name, flush=True)
    else:
        FAILED += 1
        print("FAIL %s%s" % (name, (": " + str(detail)) if detail else ""), flush=True)
    return cond


def guarded(name, fn, *args):
    """Run a group of checks; an exception counts as one failure."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - report and carry on
        check("%s (exception)" % name, False, "%s\n%s" % (e, traceback.format_exc()))


# ---------------------------------------------------------------- images

def build_images(tmp):
    """A one-layer image (tag latest) and a two-platform index (tag multi).
    Returns (single dir, its manifest bytes, multi dir, index digest)."""
    single = os.path.join(tmp, "single")
    oci_image(single, [Layer([E("etc/hostname", b"x\n")])], tag="latest")
    with open(os.path.join(single, "index.json")) as f:
        desc = json.load(f)["manifests"][0]
    with open(os.path.join(single, "blobs", "sha256", desc["digest"][7:]), "rb") as f:
        manifest = f.read()

    # a multi-platform layout: index.json -> the index -> both images
    multi = os.path.join(tmp, "multi")
    images = []
    for arch in ("amd64", "arm64"):
        layers = [Layer([E("etc/arch", arch.encode() + b"\n")])]
        images.append((layers, config_for(layers, arch=arch),
                       {"platform": {"architecture": arch, "os": "linux"}}))
    _, inner = oci_index(multi, images)
    return single, manifest, multi, sha(inner)


# ---------------------------------------------------------------- registry modes

def pull_manifest(reg, name, ref, creds=None):
    """GET a manifest with urllib, doing the auth dance for token/basic."""
    headers = {"Accept": R.ACCEPT_MANIFESTS}
    headers.update(reg.auth_headers("repository:%s:pull" % name, creds))
    return R.urlopen("%s/v2/%s/manifests/%s" % (reg.url, name, ref), headers=headers,
                     ca_file=reg.ca_file)


def test_mode(tag, tls, auth, single, manifest, multi=None, idx_digest=None):
    want = sha(manifest)
    with R.Registry(tls=tls, auth=auth) as reg:
        check("%s: started at %s" % (tag, reg.url),
              reg.url.startswith("https://" if tls else "http://"))
        creds = reg.creds if auth else None
        got = R.push(reg, single, "latest", "test/app", "v1", creds=creds)
        check("%s: push returns manifest digest" % tag, got == want, got)

        ping = R.urlopen(reg.url + "/v2/", ca_file=reg.ca_file)
        www = ping.headers.get("WWW-Authenticate", "")
        if auth is None:
            check("%s: GET /v2/ -> 200" % tag, ping.status == 200, ping.status)
        elif auth == "token":
            check("%s: GET /v2/ -> 401 Bearer challenge" % tag,
                  ping.status == 401 and www.startswith("Bearer ")
                  and 'realm="%s"' % reg.realm in www and 'service="stowaway-test"' in www,
                  (ping.status, www))
        else:
            check("%s: GET /v2/ -> 401 Basic challenge" % tag,
                  ping.status == 401 and www.startswith("Basic "), (ping.status, www))

        r = pull_manifest(reg, "test/app", "v1", creds)
        check("%s: urllib GET manifest by tag" % tag,
              r.status == 200 and r.body == manifest
              and r.headers.get("Docker-Content-Digest") == want
              and r.headers.get("Content-Type") == MT_MANIFEST,
              (r.status, r.headers.get("Docker-Content-Digest"), r.body[:200]))
        cfg = json.loads(manifest)["config"]["digest"]
        h = {}
        h.update(reg.auth_headers("repository:test/app:pull", creds))
        b = R.urlopen("%s/v2/test/app/blobs/%s" % (reg.url, cfg), headers=h, ca_file=reg.ca_file)
        check("%s: urllib GET config blob" % tag, b.status == 200 and sha(b.body) == cfg,
              b.status)
        info = R.skopeo_inspect(reg, "test/app", "v1", creds=creds)
        check("%s: skopeo inspect" % tag, info.get("Digest") == want, info.get("Digest"))

        if tls:
            try:
                R.urlopen(reg.url + "/v2/")  # system trust store: must fail
                check("%s: untrusted CA rejected" % tag, False, "no TLS error")
            except Exception as e:  # noqa: BLE001
                check("%s: untrusted CA rejected" % tag, "CERTIFICATE_VERIFY_FAILED" in str(e), e)
            lh = R.urlopen("https://localhost:%d/v2/" % reg.port, ca_file=reg.ca_file)
            check("%s: cert valid for DNS localhost" % tag, lh.status in (200, 401), lh.status)

        if auth == "token":
            test_token_specifics(tag, reg, want)
        if auth == "basic":
            bad = R.urlopen(reg.url + "/v2/", ca_file=reg.ca_file,
                            headers={"Authorization": R.basic_auth("alice", "wrong")})
            good = R.urlopen(reg.url + "/v2/", ca_file=reg.ca_file,
                             headers={"Authorization": R.basic_auth(*reg.creds)})
            check("%s: wrong password 401, right one 200" % tag,
                  bad.status == 401 and good.status == 200, (bad.status, good.status))

        if multi:
            got = R.push(reg, multi, "multi", "test/multi", "v1", all_platforms=True,
                         creds=creds)
            r = pull_manifest(reg, "test/multi", "v1", creds)
            ok = got == idx_digest and r.status == 200 and sha(r.body) == idx_digest
            children = [m["digest"] for m in json.loads(r.body).get("manifests", [])] if ok else []
            kids = [pull_manifest(reg, "test/multi", d, creds).status for d in children]
            check("%s: multi-platform push --all (index + %d children)" % (tag, len(kids)),
                  ok and len(kids) == 2 and kids == [200, 200], (got, idx_digest, r.status, kids))


def test_token_specifics(tag, reg, want):
    scope = "repository:test/app:pull,push"
    q = urllib.parse.urlencode([("service", R.SERVICE), ("scope", scope)])
    bad = R.urlopen(reg.realm + "?" + q, ca_file=reg.ca_file,
                    headers={"Authorization": R.basic_auth("alice", "nope")})
    check("%s: token server: wrong password -> 401" % tag, bad.status == 401, bad.status)
    wrong_svc = R.urlopen(reg.realm + "?service=other&scope=" + scope, ca_file=reg.ca_file)
    check("%s: token server: wrong service -> 400" % tag, wrong_svc.status == 400,
          wrong_svc.status)

    hdr, claims = R.decode_jwt(reg.token(scope))  # anonymous
    check("%s: anonymous token is pull-only, RS256+x5c, aud/iss set" % tag,
          claims["access"] == [{"type": "repository", "name": "test/app", "actions": ["pull"]}]
          and hdr["alg"] == "RS256" and len(hdr["x5c"]) == 1
          and claims["aud"] == R.SERVICE and claims["iss"] == R.ISSUER,
          (hdr, claims))
    _, claims = R.decode_jwt(reg.token(scope, reg.creds))
    check("%s: alice's token grants pull,push" % tag,
          claims["access"][0]["actions"] == ["pull", "push"] and claims["sub"] == "alice",
          claims)

    anon = {"Authorization": "Bearer " + reg.token(scope)}
    r = R.urlopen("%s/v2/test/app/manifests/v1" % reg.url, method="HEAD", ca_file=reg.ca_file,
                  headers=dict(anon, Accept=R.ACCEPT_MANIFESTS))
    check("%s: anonymous token can pull (HEAD manifest)" % tag,
          r.status == 200 and r.headers.get("Docker-Content-Digest") == want, r.status)
    up = R.urlopen("%s/v2/test/app/blobs/uploads/" % reg.url, method="POST", data=b"",
                   ca_file=reg.ca_file, headers=anon)
    check("%s: anonymous token cannot push (POST upload -> 401)" % tag, up.status == 401,
          up.status)
    alice = {"Authorization": "Bearer " + reg.token(scope, reg.creds)}
    up = R.urlopen("%s/v2/test/app/blobs/uploads/" % reg.url, method="POST", data=b"",
                   ca_file=reg.ca_file, headers=alice)
    check("%s: alice's token can start an upload (202)" % tag, up.status == 202, up.status)
    forged = reg.token(scope, reg.creds)
    forged = forged[:-4] + ("AAAA" if not forged.endswith("AAAA") else "BBBB")
    r = R.urlopen("%s/v2/test/app/manifests/v1" % reg.url, ca_file=reg.ca_file,
                  headers={"Authorization": "Bearer " + forged})
    check("%s: registry rejects a bad signature (401)" % tag, r.status == 401, r.status)
    info = R.skopeo_inspect(reg, "test/app", "v1", creds=None)
    check("%s: anonymous skopeo inspect" % tag, info.get("Digest") == want, info.get("Digest"))


# ---------------------------------------------------------------- fault proxy

def test_proxy(reg, manifest):
    want = sha(manifest)
    man_path = "/v2/test/app/manifests/v1"
    layer = json.loads(manifest)["layers"][0]["digest"]
    blob_path = "/v2/test/app/blobs/" + layer
    acc = {"Accept": R.ACCEPT_MANIFESTS}

    with R.FaultProxy(reg) as px:
        r = R.urlopen(px.url + man_path, headers=acc)
        check("proxy: pass-through manifest", r.status == 200 and r.body == manifest
              and r.headers.get("Docker-Content-Digest") == want
              and r.headers.get("Connection") == "close", r.status)
        check("proxy: request log", px.log and px.log[-1].method == "GET"
              and px.log[-1].path == man_path and px.log[-1].headers.get("accept"), px.log)
        r = R.urlopen(px.url + man_path, method="HEAD", headers=acc)
        check("proxy: HEAD keeps Content-Length", r.status == 200 and r.body == b""
              and r.headers.get("Content-Length") == str(len(manifest)), r.headers)
        info = R.skopeo_inspect(px, "test/app", "v1")
        check("proxy: skopeo inspect through proxy", info.get("Digest") == want)

    with R.FaultProxy(reg, {"rate_limit_once": True}) as px:
        a = R.urlopen(px.url + man_path, headers=acc)
        b = R.urlopen(px.url + man_path, headers=acc)
        check("rate_limit_once: 429 + Retry-After: 1, then 200",
              a.status == 429 and a.headers.get("Retry-After") == "1" and b.status == 200,
              (a.status, a.headers.get("Retry-After"), b.status))

    with R.FaultProxy(reg, {"redirect_blobs_to": True}) as px:
        auth = {"Authorization": "Bearer secret-token"}
        r = R.urlopen(px.url + blob_path, headers=auth, follow_redirects=False)
        loc = r.headers.get("Location", "")
        check("redirect_blobs_to: 307 to 127.0.0.2", r.status == 307
              and urllib.parse.urlsplit(loc).hostname == "127.0.0.2", (r.status, loc))
        clean = R.urlopen(loc)                 # a careful client: drops the header
        leaky = R.urlopen(loc, headers=auth)   # a leaky one
        check("redirect_blobs_to: second host serves the blob",
              clean.status == 200 and sha(clean.body) == layer, clean.status)
        check("redirect_blobs_to: records Authorization per request",
              px.redirect_saw_auth == [False, True], px.redirect_saw_auth)

    with R.FaultProxy(reg, {"wrong_manifest_digest": True}) as px:
        r = R.urlopen(px.url + man_path, headers=acc)
        check("wrong_manifest_digest: header != sha256(body)", r.status == 200
              and r.body == manifest and r.headers.get("Docker-Content-Digest") != want,
              r.headers.get("Docker-Content-Digest"))
    with R.FaultProxy(reg, {"wrong_manifest_digest": "body"}) as px:
        r = R.urlopen(px.url + man_path, headers=acc)
        check("wrong_manifest_digest=body: one byte changed, header kept",
              r.status == 200 and len(r.body) == len(manifest) and r.body != manifest
              and json.loads(r.body) and r.headers.get("Docker-Content-Digest") == want)

    with R.FaultProxy(reg, {"truncate_blob": {"times": 1}}) as px:
        try:
            R.urlopen(px.url + blob_path)
            check("truncate_blob: short body", False, "read completed")
        except http.client.IncompleteRead as e:
            check("truncate_blob: short body (IncompleteRead)", len(e.partial) > 0
                  and len(e.partial) < (e.expected or 0) + len(e.partial), e)
        r = R.urlopen(px.url + blob_path)
        check("truncate_blob times=1: second GET intact", r.status == 200
              and sha(r.body) == layer, r.status)

    with R.FaultProxy(reg, {"stall_blob": {"seconds": 30}}) as px:
        t = time.monotonic()
        try:
            R.urlopen(px.url + blob_path, timeout=1)
            check("stall_blob: client times out", False, "read completed")
        except (socket.timeout, TimeoutError) as e:
            check("stall_blob: client times out after ~1s", time.monotonic() - t < 5, e)
    # (leaving the with-block released the stalled handler at once)

    with R.FaultProxy(reg, {"huge_manifest": True}) as px:
        r = R.urlopen(px.url + man_path, headers=acc)
        check("huge_manifest: > 4 MiB with matching Content-Length",
              r.status == 200 and len(r.body) > 4 << 20
              and int(r.headers.get("Content-Length")) == len(r.body)
              and json.loads(r.body)["schemaVersion"] == 2, len(r.body))


def test_proxy_token_redirect(single, manifest):
    """A real client (skopeo, Go) pulling through a redirecting proxy in front
    of a token registry must not leak its bearer token to the other host."""
    with R.Registry(auth="token") as reg:
        R.push(reg, single, "latest", "test/app", "v1", creds=reg.creds)
        with R.FaultProxy(reg, {"redirect_blobs_to": True}) as px:
            out = tempfile.mkdtemp(prefix="stowaway-pull-")
            try:
                R._run(["skopeo", "--insecure-policy", "copy", "--quiet",
                        "--src-tls-verify=false", "--src-creds", "alice:s3cret",
                        "docker://%s/test/app:v1" % px.host, "oci:%s:v1" % out],
                       "skopeo copy (pull)", env=R._clean_env())
            finally:
                shutil.rmtree(out, ignore_errors=True)
            sent_auth = any("authorization" in q.headers for q in px.log
                            if "/blobs/" in q.path)
            check("proxy+token: skopeo pulls via redirect, %d redirected GETs"
                  % len(px.redirect_saw_auth),
                  len(px.redirect_saw_auth) == 2 and sent_auth, px.redirect_saw_auth)
            check("proxy+token: skopeo dropped Authorization on cross-host redirect",
                  px.redirect_saw_auth and not any(px.redirect_saw_auth), px.redirect_saw_auth)


def main():
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="stowaway-harness-")
    try:
        single, manifest, multi, idx = build_images(tmp)
        guarded("http", test_mode, "http", False, None, single, manifest, multi, idx)
        guarded("https", test_mode, "https", True, None, single, manifest)
        guarded("token", test_mode, "token", False, "token", single, manifest, multi, idx)
        guarded("https+token", test_mode, "https+token", True, "token", single, manifest)
        try:
            R.bcrypt_hash("probe")
            guarded("basic", test_mode, "basic", False, "basic", single, manifest)
            guarded("https+basic", test_mode, "https+basic", True, "basic", single, manifest)
        except R.Unsupported as e:
            print("skip basic auth: %s" % e)

        def proxies():
            with R.Registry() as reg:
                R.push(reg, single, "latest", "test/app", "v1")
                test_proxy(reg, manifest)
        guarded("proxy", proxies)
        guarded("proxy+token", test_proxy_token_redirect, single, manifest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1fs)" % (time.monotonic() - t0))
    print("registry-harness: %d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
