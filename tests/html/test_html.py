#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""HTML pages (--format html, stowaway report), opened in a real browser.

Each case builds an image (tests/fixtures/imagelib.py), writes its page with
the stowaway binary and opens it in headless Chromium (Debian's `chromium`):
what is asserted is read from the DOM Chromium built (--dump-dom), and a
screenshot of every page is kept as a test artefact in
$STOWAWAY_HTML_ARTEFACTS (default: html-artefacts beside the binary), with
the page, for people to look at. Every page is also parsed strictly by
html5lib (no parse error at all) and checked to be self-contained: no
script, no element that loads anything, no link but to its own fragments.

Cases: the demo image (make demo), also printed (Chromium's PDF, read with
pdftotext: folded lists open, no navigation bar), a Debian image, a
poisoned image with a payload a later layer hides and an entrypoint chain
to a miner, a sandbox run (detonate), check's decision, a saved report
rendered by `stowaway report`, the signatures counted next to a signed
layout and a page per image in --output DIR, hostile names (script,
markup, quotes, invalid UTF-8, a right-to-left override: no script may
run, with or without the page's Content-Security-Policy, and a control
page proves a script that runs is seen), pages of 1 and 200 layers and of
0 and 10,000 findings, and reports that are not what they claim.

usage: test_html.py STOWAWAY_BINARY [CASE...]
Prints one line per case and ends with "html: N passed, N failed". Without
chromium, html5lib or pdftotext (Debian: chromium, python3-html5lib,
poppler-utils; scripts/deps.sh installs them) the cases fail, saying so:
they are never skipped.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
from caserun import collector, drive_module, eq, ok  # noqa: E402
from imagelib import E, EICAR, MINER_STANDIN, Layer, oci_image  # noqa: E402

BIN = None
WORK = None
CASES, case = collector()
WALLET = "48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD"
KB = 1024

# ---------------------------------------------------------------- the tools


def html5lib():
    """html5lib, also Debian's (python3-html5lib) when the python3 running
    the tests is another one (pyenv, a virtualenv)."""
    try:
        import html5lib as h
    except ImportError:
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import html5lib as h
        except ImportError:
            raise AssertionError("html5lib is not installed (Debian: python3-html5lib; scripts/deps.sh installs it)")
    return h


def chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    raise AssertionError("chromium is not installed: the pages are tested in a real browser "
                         "(Debian: chromium; scripts/deps.sh installs it)")


def artefacts():
    d = os.environ.get("STOWAWAY_HTML_ARTEFACTS") or os.path.join(os.path.dirname(BIN), "html-artefacts")
    os.makedirs(d, exist_ok=True)
    return d


def local(tag):
    return tag.split("}")[-1] if isinstance(tag, str) else ""


class Dom:
    """What a browser (or html5lib) built of a page; strict: any parse error
    is an AssertionError."""

    def __init__(self, text, strict=False, what="page"):
        h = html5lib()
        self.source = text
        parser = h.HTMLParser(tree=h.getTreeBuilder("etree"), strict=strict, namespaceHTMLElements=False)
        try:
            self.root = parser.parse(text)
        except Exception as e:  # noqa: BLE001 - html5lib raises its ParseError with the first error
            raise AssertionError("%s: not valid HTML: %s %s" % (what, e, parser.errors[:3]))

    def all(self, tag=None):
        return [el for el in self.root.iter() if local(el.tag) and (tag is None or local(el.tag) == tag)]

    def by_id(self, i):
        found = [el for el in self.all() if el.get("id") == i]
        return found[0] if found else None

    def attr_values(self, attr):
        return [el.get(attr) for el in self.all() if el.get(attr) is not None]

    @staticmethod
    def text(el):
        return "".join(el.itertext()) if el is not None else ""

    @property
    def body_text(self):
        return self.text(self.all("body")[0])


def browse(page, name, height=2400):
    """Open the page in headless Chromium: the DOM after loading (a script,
    had one run, would have run), and a screenshot kept as name.png beside
    a copy of the page in the artefacts directory."""
    shot = os.path.join(artefacts(), name + ".png")
    profile = tempfile.mkdtemp(prefix="chromium-", dir=WORK)
    argv = [chromium(), "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--mute-audio",
            "--user-data-dir=" + profile, "--virtual-time-budget=3000", "--window-size=1280,%d" % height,
            "--screenshot=" + shot, "--dump-dom", "file://" + os.path.abspath(page)]
    if os.geteuid() == 0:
        argv.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its own sandbox
    if os.path.exists(shot):
        os.unlink(shot)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    ok(p.returncode == 0 and p.stdout.strip(), "chromium on %s: exit %d, %s" % (page, p.returncode,
                                                                              p.stderr.decode()[-1500:]))
    ok(os.path.exists(shot) and os.path.getsize(shot) > 2000, "chromium made no screenshot of " + page)
    if os.path.abspath(page) != os.path.join(artefacts(), name + ".html"):
        shutil.copy(page, os.path.join(artefacts(), name + ".html"))
    shutil.rmtree(profile, ignore_errors=True)
    return Dom(p.stdout.decode("utf-8"))


def run(*args, env=None, timeout=600):
    e = dict(os.environ, XDG_CACHE_HOME=os.path.join(WORK, "cache"), TMPDIR=tmpdir())
    e.update(env or {})
    p = subprocess.run([BIN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def tmpdir():
    d = os.path.join(WORK, "tmp")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o1777)
    return d


def path(*parts):
    return os.path.join(WORK, *parts)


def page_of(*args, out, want_rc=(0, 1)):
    """Run a command writing a page to out: the page's text."""
    rc, _, err = run(*(list(args) + ["--output", out]))
    ok(rc in want_rc, "%s: exit %d: %s" % (" ".join(args[:2]), rc, err))
    data = open(out, "rb").read()
    return data.decode("utf-8")  # strictly UTF-8, whatever the image's names


def report_json(*args):
    rc, out, err = run(*(list(args) + ["--format", "json"]))
    ok(rc in (0, 1), "json: exit %d: %s" % (rc, err))
    return json.loads(out)


FETCHING = {"src", "srcset", "action", "formaction", "poster", "data", "background", "ping", "manifest", "xlink:href"}


def check_page(text, what, max_size):
    """Well-formed to the letter (html5lib, strict), self-contained, small."""
    size = len(text.encode("utf-8"))
    ok(size <= max_size, "%s: %d bytes, more than %d" % (what, size, max_size))
    ok(text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>"), what + ": a whole page")
    dom = Dom(text, strict=True, what=what)
    for tag in ("script", "link", "iframe", "object", "embed", "img", "base", "form", "frame", "audio", "video"):
        eq(dom.all(tag), [], "%s: <%s> in the page" % (what, tag))
    for el in dom.all():
        for a in el.keys():
            ok(not local(a).startswith("on"), "%s: an event handler %s on <%s>" % (what, a, local(el.tag)))
            ok(local(a) not in FETCHING and a not in FETCHING, "%s: %s on <%s> loads something" % (what, a, el.tag))
    for href in dom.attr_values("href"):
        ok(href.startswith("#"), "%s: a link out of the page: %r" % (what, href))
    style = "".join(Dom.text(s) for s in dom.all("style"))
    ok("url(" not in style and "@import" not in style, what + ": the style sheet fetches")
    metas = [m.get("content") for m in dom.all("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    ok(metas and "default-src 'none'" in metas[0] and "script" not in metas[0], what + ": the CSP: %s" % metas)
    return size


def finding_ids_in(dom):
    return {el.get("data-finding") for el in dom.all() if el.get("data-finding")}


def check_against_report(dom, rep, what):
    """The verdict, every layer (its build step in its card) and every
    finding (its card or row, or at least its id in the table of ids) of
    the JSON report are on the page Chromium built."""
    eq(dom.all("html")[0].get("data-verdict"), rep["verdict"], what + ": the verdict")
    v = dom.by_id("verdict")
    ok(v is not None and Dom.text(v) == rep["verdict"], what + ": the verdict shown: %r" % Dom.text(v))
    for layer in rep["image"]["layers"]:
        li = dom.by_id("layer-%d" % layer["index"])
        ok(li is not None, "%s: layer %d has no card" % (what, layer["index"]))
        if layer.get("created_by"):
            ok(layer["created_by"][:200] in Dom.text(li), "%s: layer %d's step %r" % (what, layer["index"],
                                                                                 layer["created_by"][:80]))
    ids = {f["id"] for f in rep["findings"]}
    table = {el.get("data-id") for el in dom.all("tr") if el.get("data-id")}
    eq(table, ids, what + ": the table of finding ids")
    shown = [el for el in dom.all() if el.get("data-finding")]
    if len(rep["findings"]) <= 50:
        eq(len(shown), len(rep["findings"]), what + ": a card per finding")
        eq(finding_ids_in(dom), ids, what + ": every finding's id")


def hidden_payload_shown(dom, path_, added, removed, step):
    """The payload is shown where it was added, with the layer that removed
    it named and linked, and in the removing layer as what it hides."""
    card = dom.by_id("layer-%d" % added)
    gone = [d for d in card.iter() if d.get("class") == "gone"]
    ok(gone, "layer %d shows no hidden payload" % added)
    text = " ".join(Dom.text(d) for d in gone)
    ok(path_ in text and "removed by layer %d" % removed in text and step in text,
       "the hidden payload in layer %d: %r" % (added, text))
    links = [a.get("href") for d in gone for a in d.iter() if local(a.tag) == "a"]
    ok("#layer-%d" % removed in links, "the removing layer is linked: %s" % links)
    hides = [d for d in dom.by_id("layer-%d" % removed).iter() if d.get("class") == "hides"]
    ok(any(path_ in Dom.text(d) for d in hides), "layer %d says what it hides" % removed)


# ---------------------------------------------------------------- images

def demo_image():
    root = path("demo")
    if not os.path.exists(root):
        subprocess.run([sys.executable, os.path.join(TOP, "tests", "fixtures", "demo.py"), root], check=True,
                       stdout=subprocess.DEVNULL)
    return "oci:%s:latest" % root


START = b"#!/bin/sh\nset -e\nexec /opt/app/start.sh \"$@\"\n"
LAUNCH = (b"#!/bin/sh\n# start the helpers, then the app\n"
          b"nohup /usr/share/.java/jupdate -c /usr/share/.java/config.json >/dev/null 2>&1 &\n"
          b"/var/tmp/.x/kworker &\nexec /opt/app/server \"$@\"\n")


def poisoned_image():
    """A launcher chain (/docker-entrypoint.sh -> /opt/app/start.sh) that
    starts a miner, and a second payload it also starts, which a later
    layer deletes: hidden from the container, shipped in the image."""
    root = path("poisoned")
    if os.path.exists(root):
        return "oci:" + root
    base = Layer([E("bin/", kind="dir"), E("bin/sh", b"#!stand-in shell\n", mode=0o755), E("etc/", kind="dir"),
                  E("etc/os-release", b'PRETTY_NAME="Stand-in Linux"\n')], created_by="ADD rootfs.tar.xz /")
    app = Layer([E("docker-entrypoint.sh", START, mode=0o755), E("opt/", kind="dir"), E("opt/app/", kind="dir"),
                 E("opt/app/start.sh", LAUNCH, mode=0o755), E("opt/app/server", b"#!/bin/sh\nsleep 1\n", mode=0o755),
                 E("usr/", kind="dir"), E("usr/share/", kind="dir"), E("usr/share/.java/", kind="dir"),
                 E("usr/share/.java/jupdate", MINER_STANDIN, mode=0o755),
                 E("var/", kind="dir"), E("var/tmp/", kind="dir"), E("var/tmp/.x/", kind="dir"),
                 E("var/tmp/.x/kworker", EICAR, mode=0o755)],
                created_by="COPY app/ /")
    hide = Layer([E("var/tmp/.x/.wh.kworker")], created_by="RUN rm /var/tmp/.x/kworker")
    oci_image(root, [base, app, hide], name="docker.io/someuser/app:1.0",
              cfg_extra={"config": {"Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["serve"]}})
    return "oci:" + root


def debian_rootfs():
    tar = os.environ.get("STOWAWAY_DEBIAN_ROOTFS")
    if tar and os.path.exists(tar):
        return tar
    p = subprocess.run([os.path.join(TOP, "tests", "fixtures", "debian-rootfs.sh"), "minbase"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ok(p.returncode == 0, "the Debian root filesystem (mmdebstrap): " + p.stderr.decode()[-800:])
    return p.stdout.decode().strip()


def behave_image(mode):
    """The behaviour stand-in (tests/fixtures/standins/behave.c, static) as
    a one-layer image running `behave MODE`."""
    root = path("behave-" + mode)
    if os.path.exists(root):
        return "oci:" + root
    exe = path("behave")
    if not os.path.exists(exe):
        subprocess.run(["gcc", "-static", "-O2", "-o", exe, os.path.join(TOP, "tests", "fixtures", "standins",
                                                                          "behave.c")],
                       check=True, stderr=subprocess.DEVNULL)
    data = open(exe, "rb").read()
    ents = [E("bin/", kind="dir"), E("bin/behave", data, mode=0o755), E("bin/sh", data, mode=0o755),
            E("etc/", kind="dir"), E("tmp/", kind="dir", mode=0o1777), E("root/", kind="dir", mode=0o700),
            E("var/", kind="dir"), E("var/run/", kind="dir")]
    oci_image(root, [Layer(ents, created_by="COPY behave /bin/")],
              cfg_extra={"config": {"Entrypoint": ["/bin/behave"], "Cmd": [mode, "9"]}})
    readable_by_the_sandbox()
    return "oci:" + root


# ---------------------------------------------------------------- cases

@case
def demo_image_page():
    img = demo_image()
    rep = report_json("scan", "-q", img)
    text = page_of("scan", "-q", "--format", "html", img, out=path("demo.html"))
    size = check_page(text, "demo", 100 * KB)
    dom = browse(path("demo.html"), "demo")
    check_against_report(dom, rep, "demo")
    hidden_payload_shown(dom, "/usr/share/.java/jupdate", 1, 2, "RUN rm /usr/share/.java/jupdate")
    # the launcher still names the payload: the chain shows it, dashed
    chain = dom.by_id("entrypoint")
    ok("/opt/app/dao.py" in Dom.text(chain) and "/usr/share/.java/jupdate" in Dom.text(chain), Dom.text(chain))
    ok(any(el.get("class", "").endswith("ghost") for el in chain.iter()), "the removed payload drawn dashed")
    return "%d bytes" % size


@case
def printed_with_folded_lists_open():
    """Printed (Chromium's PDF), the page keeps what is folded on screen
    (a layer's removed files) and drops the navigation bar."""
    if not shutil.which("pdftotext"):
        raise AssertionError("pdftotext is not installed (Debian: poppler-utils; scripts/deps.sh installs it)")
    page = path("demo.html")
    if not os.path.exists(page):
        page_of("scan", "-q", "--format", "html", demo_image(), out=page)
    pdf = os.path.join(artefacts(), "demo.pdf")
    profile = tempfile.mkdtemp(prefix="chromium-", dir=WORK)
    argv = [chromium(), "--headless", "--disable-gpu", "--no-first-run", "--user-data-dir=" + profile,
            "--no-pdf-header-footer", "--print-to-pdf=" + pdf, "file://" + page]
    if os.geteuid() == 0:
        argv.insert(1, "--no-sandbox")
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    ok(p.returncode == 0 and os.path.exists(pdf), "chromium --print-to-pdf: " + p.stderr.decode()[-800:])
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], stdout=subprocess.PIPE, check=True).stdout.decode()
    ok(re.search(r"/usr/share/\.java/jupdate\s+.\s+removed by layer 2 \(flagged\)", text),
       "the folded list of removed files printed: " + text[:1500])
    ok("Findings (4)" not in text.split("SUSPICIOUS")[0], "the navigation bar is not printed")
    return "%d pages" % text.count("\f")


@case
def debian_image_page():
    tar = debian_rootfs()
    root = path("debian")
    if not os.path.exists(root):
        with open(tar, "rb") as f:
            base = Layer(raw=f.read(), comp="none", created_by="mmdebstrap bookworm minbase")
        oci_image(root, [base, Layer([E("opt/", kind="dir"), E("opt/eicar", EICAR)], created_by="COPY eicar /opt/"),
                         Layer([E("usr/share/.wh.doc")], created_by="RUN rm -rf /usr/share/doc")],
                  name="docker.io/library/debian:bookworm", cfg_extra={"config": {"Cmd": ["bash"]}})
    img = "oci:" + root
    rep = report_json("scan", "-q", img)
    removed = rep["image"]["layers"][0]["removed"]["count"]
    ok(removed > 100, "the docs removed by layer 2: %d" % removed)
    eq(rep["image"]["layers"][2]["removes"], removed, "what layer 2 removes")
    text = page_of("scan", "-q", "--format", "html", img, out=path("debian.html"))
    size = check_page(text, "debian", 300 * KB)
    dom = browse(path("debian.html"), "debian")
    check_against_report(dom, rep, "debian")
    card = Dom.text(dom.by_id("layer-0"))
    ok("%d files added here were removed by later layers" % removed in card, card[:500])
    ok("removes %d of earlier layers" % removed in Dom.text(dom.by_id("layer-2")), "layer 2's count")
    ok("/usr/bin/bash" in Dom.text(dom.by_id("entrypoint")), "bash, found through PATH and /bin -> usr/bin")
    cards = [Dom.text(a) for a in dom.all("article") if a.get("data-finding") == "SW-TEST-EICAR"]
    ok(cards and "no installed package lists this file" in cards[0] and "dpkg" in cards[0],
       "the planted file's provenance: %s" % cards)
    return "%d bytes, %d entries" % (size, rep["stats"]["files"])


@case
def poisoned_image_page():
    img = poisoned_image()
    rep = report_json("scan", "-q", img)
    eq(rep["verdict"], "malicious", "verdict")
    chain = {c["path"]: c for c in rep["image"]["entrypoint"]["chain"]}
    for p in ("/docker-entrypoint.sh", "/opt/app/start.sh", "/usr/share/.java/jupdate", "/var/tmp/.x/kworker"):
        ok(p in chain, "%s in the chain: %s" % (p, sorted(chain)))
    eq(chain["/var/tmp/.x/kworker"]["present"], False, "the hidden payload, named by start.sh")
    text = page_of("scan", "-q", "--format", "html", img, out=path("poisoned.html"))
    size = check_page(text, "poisoned", 150 * KB)
    dom = browse(path("poisoned.html"), "poisoned", height=2000)
    check_against_report(dom, rep, "poisoned")
    hidden_payload_shown(dom, "/var/tmp/.x/kworker", 1, 2, "RUN rm /var/tmp/.x/kworker")
    # the graph: entrypoint -> launcher -> payloads, each with its findings
    section = dom.by_id("entrypoint")
    svg_text = " ".join(Dom.text(t) for t in section.iter() if local(t.tag) == "text")
    for p in chain:
        ok(p in svg_text, "%s drawn: %r" % (p, svg_text[:800]))
    ok("SW-MINER-XMRIG" in svg_text and "/docker-entrypoint.sh" in svg_text, "the miner's findings on its node")
    rows = {Dom.text(r.find("td")).strip(): Dom.text(r) for r in section.iter() if r.get("data-chain")}
    ok("/opt/app/start.sh" in rows["/usr/share/.java/jupdate"], "jupdate started by start.sh: %s" % rows)
    ok("removed by a later layer" in rows["/var/tmp/.x/kworker (removed by a later layer)"], rows)
    launcher = [f for f in rep["findings"] if f["id"] == "SW-LAUNCHER"]
    ok(launcher, "a launcher finding")
    # the miner's card says it runs at start, and who starts it
    miner = [a for a in dom.all("article") if a.get("data-finding") == "SW-MINER-XMRIG"]
    ok(miner and "runs when the container starts" in Dom.text(miner[0]) and "/opt/app/start.sh" in Dom.text(miner[0]),
       "the miner's card")
    # the map: an arc from layer 1 to layer 2
    arcs = [p for p in dom.all("path") if p.get("class") == "arc"]
    ok(arcs and "added in layer 1, removed by layer 2" in Dom.text(arcs[0]), "the layer map's arc")
    return "%d bytes" % size


@case
def detonate_run_page():
    img = behave_image("miner")
    text = page_of("detonate", "--timeout", "20", "--format", "html", img, out=path("detonate.html"))
    size = check_page(text, "detonate", 200 * KB)
    dom = browse(path("detonate.html"), "detonate", height=3000)
    eq(dom.all("html")[0].get("data-verdict"), "malicious", "verdict")
    sandbox = dom.by_id("sandbox")
    ok(sandbox is not None, "the sandbox section")
    st = Dom.text(sandbox)
    ok("/bin/behave miner 9" in st and "exit status" in st, "what ran and how it ended: " + st[:300])
    tree = " ".join(Dom.text(t) for t in sandbox.iter() if local(t.tag) == "text")
    ok("sandbox init (PID 1)" in tree and "/bin/behave" in tree, "the process tree: " + tree[:300])
    contacts = Dom.text(dom.by_id("contacts"))
    ok("pool.supportxmr.com" in contacts and ":3333" in contacts and "stratum" in contacts,
       "contacts by host and port: " + contacts)
    ok("pool.supportxmr.com" in Dom.text(dom.by_id("dns")), "names looked up")
    stratum = Dom.text(dom.by_id("stratum"))
    ok(WALLET in stratum and "rig-7" in stratum and "pool.supportxmr.com" in stratum, "the login: " + stratum)
    timeline = dom.by_id("timeline")
    ok(len([r for r in timeline.iter() if local(r.tag) == "tr"]) > 5, "the timeline")
    for fid in ("SW-DYN-STRATUM-LOGIN", "SW-DYN-POOL-HOST"):
        ok(fid in finding_ids_in(dom), fid + " on the page")
    return "%d bytes" % size


@case
def check_decision_page():
    img = demo_image()
    text = page_of("check", "--format", "html", img, out=path("check.html"), want_rc=(1,))
    check_page(text, "check", 100 * KB)
    dom = browse(path("check.html"), "check", height=1600)
    eq(Dom.text(dom.by_id("decision-word")), "denied", "the decision in the banner")
    eq(Dom.text(dom.by_id("verdict")), "suspicious", "the scan's verdict under it")
    d = Dom.text(dom.by_id("decision"))
    ok("impersonation" in d and "not checked" in d, "the reasons: " + d)
    ok(dom.by_id("layer-2") is not None and "SW-HIDDEN-PAYLOAD" in finding_ids_in(dom), "the scan behind it")
    # a decision on a name alone: no scan, no registry, still a page
    rc, out, err = run("check", "--format", "html", "--no-scan", "docker.io/library/nginx:1.27")
    eq(rc, 0, err)
    dom = Dom(out.decode())
    eq(Dom.text(dom.by_id("decision-word")), "allowed", "nginx by name")
    ok("not scanned" in Dom.text(dom.by_id("top")), "says it was not scanned")


@case
def saved_report_renders_as_the_scan():
    img = poisoned_image()
    rc, out, err = run("scan", "-q", "--format", "json", img, demo_image())
    eq(rc, 1, err)
    saved = path("two.json")
    open(saved, "wb").write(out)
    rc, _, err = run("report", saved, "--output", path("pages"))
    eq(rc, 0, err)
    pages = sorted(os.listdir(path("pages")))
    eq(pages, ["01-two.json-1.html", "02-two.json-2.html"], "a page per report")
    reps = [json.loads(line) for line in out.decode().splitlines()]
    for name, rep in zip(pages, reps):
        text = open(path("pages", name)).read()
        check_page(text, name, 150 * KB)
        check_against_report(Dom(text), rep, name)
    # the page of the saved JSON is the scan's page, but what only a scan looks up
    single = path("one.json")
    open(single, "wb").write(out.splitlines()[0])
    eq(run("report", single, "-o", path("from-json.html"))[0], 0, "report one")
    page_of("scan", "-q", "--format", "html", img, out=path("from-scan.html"))

    def norm(t):
        t = re.sub(r"in [0-9.]+ s", "in S s", t)
        return re.sub(r"<dt>Signatures</dt><dd>.*?</dd>", "", t)
    eq(norm(open(path("from-json.html")).read()), norm(open(path("from-scan.html")).read()), "the same page")
    dom = browse(path("from-json.html"), "from-json", height=1200)
    check_against_report(dom, reps[0], "from json")
    # several pages need a directory; reading standard input
    rc, _, err = run("report", saved)
    ok(rc == 2 and "--output DIR" in err, err)
    p = subprocess.run([BIN, "report", "-"], input=out.splitlines()[1], stdout=subprocess.PIPE)
    ok(p.returncode == 0 and p.stdout.startswith(b"<!DOCTYPE html>"), "report - (stdin)")


@case
def signatures_and_several_pages():
    """The signatures and attestations next to the image are counted on the
    page; several images make a page each in --output DIR."""
    signed = path("signed")
    if not os.path.exists(signed):
        demo_image()
        shutil.copytree(path("demo"), signed)
        env = {"STOWAWAY_PASSWORD": "html-test"}
        eq(run("keygen", "--output-key-prefix", path("k"), env=env)[0], 0, "keygen")
        rc, _, err = run("sign", "oci:" + signed, "--key", path("k.key"), "--name", "docker.io/someuser/openjdk",
                         env=env)
        eq(rc, 0, "sign: " + err)
        rc, _, err = run("scan", "-q", "--attest", "--key", path("k.key"), "--fail-on", "none", "-f", "json",
                         "oci:" + signed, env=env)
        eq(rc, 0, "scan --attest: " + err)
    rc, out, err = run("scan", "-q", "--format", "html", "--fail-on", "none", "oci:" + signed)
    eq(rc, 0, err)
    dom = Dom(out.decode())
    facts = Dom.text(dom.by_id("top"))
    ok("1 cosign signature, 1 attestation found next to the image (in its OCI layout)" in facts, facts)
    ok("counted, not verified" in facts, "says they were not verified")
    # several images: a page each, named after them, in the directory
    rc, _, err = run("scan", "-q", "--format", "html", "--fail-on", "none", "oci:" + signed, poisoned_image(),
                     "--output", path("scan-pages"))
    eq(rc, 0, err)
    eq(sorted(os.listdir(path("scan-pages"))), ["01-docker.io-someuser-openjdk-latest.html",
                                                "02-docker.io-someuser-app-1.0.html"], "the pages")
    rc, _, err = run("check", "--format", "html", "oci:" + signed, poisoned_image(), "-o", path("check-pages"))
    eq(rc, 1, err)
    pages = sorted(os.listdir(path("check-pages")))
    eq(len(pages), 2, "check's pages: %s" % pages)
    for name in pages:
        d = Dom(open(path("check-pages", name)).read())
        eq(Dom.text(d.by_id("decision-word")), "denied", name)
    rc, _, err = run("scan", "-q", "--format", "html", "oci:" + signed, poisoned_image())
    ok(rc == 2 and "give --output DIR" in err, "several pages to stdout: " + err)


# -------- hostile names: markup, quotes, invalid UTF-8, direction overrides

MARK = "document.documentElement.setAttribute('data-pwned','%s')"
SCRIPT = "<script>" + MARK % "script" + "</script>"
IMG = '"><img src=x onerror="' + MARK % "img" + '">'
SVG = "<svg onload=\"" + MARK % "svg" + "\">"
TITLE = "</title><script>" + MARK % "title" + "</script>"
STYLE = "</style><script>" + MARK % "style" + "</script>"
QUOTES = "it's \"quoted\" & <!-- ]]> -->"
RLO = "\u202e"
RAW = "\udc9b"  # the byte 0x9b, not UTF-8 (surrogateescape)


def hostile_image():
    root = path("hostile")
    if os.path.exists(root):
        return "oci:" + root
    base = Layer([E("bin/", kind="dir"), E("bin/sh", b"#!stand-in shell\n", mode=0o755)],
                 created_by="ADD " + STYLE + " /")
    named = Layer([E("opt/", kind="dir"), E("opt/" + SCRIPT + "/eicar.com", EICAR),
                   E("opt/" + IMG + ".bin", EICAR), E("opt/" + SVG + RLO + "gpj.exe", EICAR),
                   E("opt/" + QUOTES, EICAR), E("srv/", kind="dir"),
                   E("srv/markup.txt", b"page text: <script>alert(1)</script>\n"),
                   E("opt/app/", kind="dir"), E("opt/app/run.sh", b"#!/bin/sh\nexec /opt/app/run.sh\n", mode=0o755)],
                  created_by="RUN " + SCRIPT + IMG + RLO)
    raw = Layer([E("srv/raw-" + RAW + "<b>x</b>.eicar", EICAR)], fmt=tarfile.GNU_FORMAT, created_by="COPY " + TITLE)
    hide = Layer([E("opt/.wh." + IMG + ".bin")], created_by="RUN rm " + SVG)
    oci_image(root, [base, named, raw, hide], name="docker.io/someuser/hostile:latest",
              cfg_extra={"config": {"Entrypoint": ["/opt/app/run.sh", TITLE, RLO + "txt.exe"], "User": SCRIPT,
                                    "Env": ["PATH=/bin", "X=" + IMG], "Labels": {SVG: STYLE}}})
    return "oci:" + root


def hostile_rules():
    d = path("rules")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "markup.yar"), "w") as f:
        f.write('rule markup { meta: id = "SW-TEST-MARKUP" severity = "high" category = "backdoor" '
                'title = "Markup in a page: <script>%s</script> <img src=x>" '
                'strings: $a = "<script>" condition: $a }\n' % (MARK % "rule"))
    return d


def no_script_ran(dom, what):
    eq(dom.all("html")[0].get("data-pwned"), None, what + ": a script ran")
    eq(dom.all("script"), [], what + ": <script> in the DOM")
    eq(dom.all("img"), [], what + ": <img> in the DOM")
    for el in dom.all():
        ok(not any(local(a).startswith("on") for a in el.keys()), "%s: a handler on <%s>" % (what, el.tag))
    text = dom.body_text
    for s in (SCRIPT, IMG, SVG, STYLE):
        ok(s in text, "%s: %r not shown as text" % (what, s[:40]))
    ok(RLO not in text, what + ": a raw right-to-left override in the text")
    ok("\\u202e" in text, what + ": the override shown escaped")


@case
def hostile_names_stay_text():
    img = hostile_image()
    text = page_of("scan", "-q", "--format", "html", "--rules", hostile_rules(), img, out=path("hostile.html"))
    check_page(text, "hostile", 150 * KB)
    ok("\ufffd" in text, "the byte that is not UTF-8 shown as U+FFFD (the report's JSON has it so)")
    dom = browse(path("hostile.html"), "hostile", height=3000)
    no_script_ran(dom, "hostile page")
    ok(SCRIPT in dom.body_text and "SW-TEST-MARKUP" in finding_ids_in(dom), "the rule's title and match as text")
    ok(TITLE in Dom.text(dom.by_id("entrypoint")), "the Entrypoint's arguments as text")
    eq(dom.all("title")[0].text.count("<"), 0, "the title element holds no markup")
    # the escaping alone holds: the same page without its Content-Security-Policy
    bare = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n', "", text)
    ok(bare != text, "the CSP meta element was there")
    open(path("hostile-no-csp.html"), "w").write(bare)
    no_script_ran(browse(path("hostile-no-csp.html"), "hostile-no-csp", height=800), "without the CSP")
    # and a script that does run is seen: the control
    open(path("control.html"), "w").write("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>control</title>"
                                          "</head><body><p>control</p>" + SCRIPT + "</body></html>\n")
    control = browse(path("control.html"), "control", height=300)
    eq(control.all("html")[0].get("data-pwned"), "script", "the control page's script ran and was seen")


# -------- layout: 1 and 200 layers, 0 and 10,000 findings

SEVS = ["critical", "high", "medium", "low", "info"]


def synthetic_report(nlayers, nfindings, nevents=0, seed=7):
    """A stowaway.report/v1 document of the given size, as a scan of such
    an image would write it."""
    rnd = random.Random(seed)
    layers = [{"index": i, "digest": "sha256:%064x" % (i + 1), "diff_id": "sha256:%064x" % (i + 1001),
               "size": rnd.randrange(100, 1 << 28), "created_by": "RUN step %d && apt-get install -y pkg%d" % (i, i),
               "files": rnd.randrange(0, 5000), "removed": {"count": 0, "files": []}, "removes": 0}
              for i in range(nlayers)]
    findings = []
    for k in range(nfindings):
        layer = rnd.randrange(0, nlayers, 10)  # most layers quiet: folded on the page
        sev = SEVS[min(4, int(rnd.expovariate(0.7)))]
        findings.append({"id": "SW-SYN-%03d" % (k % 40), "severity": sev, "category": "miner",
                         "title": "Synthetic finding %d" % k, "detector": "yara", "path": "/usr/lib/x/file-%05d" % k,
                         "layer": layer, "layer_digest": layers[layer]["digest"],
                         "created_by": layers[layer]["created_by"], "in_final_fs": True,
                         "evidence": {"rule": "SYN", "sha256": "%064x" % k,
                                      "strings": [{"id": "$a", "offset": k * 16, "data": "stratum+tcp://x"}]}})
    for k in range(min(20, nfindings // 100)):
        a = rnd.randrange(0, nlayers - 1, 10)
        d = a + 1 + rnd.randrange(0, 3)
        p = "/var/tmp/hidden-%d" % k
        layers[a]["removed"]["count"] += 1
        layers[a]["removed"]["files"].append({"path": p, "by": d})
        layers[d]["removes"] += 1
        findings.append({"id": "SW-HIDDEN-PAYLOAD", "severity": "high", "category": "hidden-payload",
                         "title": "Flagged file removed by layer %d still ships in layer %d" % (d, a),
                         "detector": "merge", "path": p, "layer": a, "layer_digest": layers[a]["digest"],
                         "created_by": layers[a]["created_by"], "in_final_fs": False,
                         "evidence": {"added_in_layer": a, "added_by": layers[a]["created_by"], "removed_in_layer": d,
                                      "removed_by": layers[d]["created_by"], "findings": ["SW-SYN-001"]}})
    findings.sort(key=lambda f: (SEVS.index(f["severity"]), f["layer"], f["path"], f["id"]))
    chain = [{"path": "/entry-%d" % i, "layer": i % nlayers, "parent": (i - 1) // 2 if i else -1,
              "depth": (i + 1).bit_length() - 1, "present": True} for i in range(min(64, nlayers * 4))]
    rep = {"schema": "stowaway.report/v1", "tool": {"name": "stowaway", "version": "0.1.0",
                                                  "ruleset": "sha256:" + "ab" * 32},
           "image": {"input": "oci:synthetic", "reference": "docker.io/library/synthetic:%d" % nlayers,
                     "manifest_digest": "sha256:" + "cd" * 32, "config_digest": "sha256:" + "ef" * 32,
                     "platform": "linux/amd64", "platforms": ["linux/amd64", "linux/arm64", "linux/arm/v7"],
                     "layers": layers, "entrypoint": {"command": ["/entry-0", "--serve"], "user": "app",
                                                      "chain": chain}},
           "verdict": "malicious" if nfindings else "clean", "findings": findings, "incomplete": [],
           "stats": {"layers": nlayers, "files": sum(x["files"] for x in layers), "bytes": 1 << 30, "seconds": 1.5,
                     "cache_hits": 0}}
    if nevents:
        events = []
        for i in range(nevents):
            pid = 2 + i % 300
            kind = ["exec", "connect", "dns", "file-write", "process"][i % 5]
            e = {"t": i / 100.0, "kind": kind, "pid": pid, "ppid": 1 if pid == 2 else 2 + (pid - 3) // 3}
            e.update({"exec": {"path": "/bin/p%d" % pid, "argv": ["/bin/p%d" % pid, "-x"]},
                      "connect": {"proto": "tcp", "dst": "198.18.0.1", "port": 1000 + i % 400},
                      "dns": {"name": "host%d.example" % (i % 250)}, "file-write": {"path": "/tmp/f%d" % i},
                      "process": {"comm": "p%d" % pid, "cpu_ms": i}}[kind])
            events.append(e)
        rep["dynamic"] = {"summary": {"command": {"exe": "/entry-0", "argv": ["/entry-0"], "cwd": "/", "uid": 0,
                                                  "gid": 0}, "run": {"exit": 0, "wall_seconds": 30.0}},
                          "events": events}
    return rep


@case
def layout_holds_from_one_layer_to_two_hundred():
    sizes = []
    for name, rep, bound in (("one-layer", synthetic_report(1, 0), 60 * KB),
                             ("many", synthetic_report(200, 10000, nevents=5000), 1100 * KB)):
        src = path(name + ".json")
        json.dump(rep, open(src, "w"))
        t0 = time.time()
        rc, _, err = run("report", src, "-o", path(name + ".html"))
        took = time.time() - t0
        eq(rc, 0, err)
        ok(took < 5, "%s: %.1f s to render" % (name, took))
        text = open(path(name + ".html")).read()
        sizes.append("%s %d bytes" % (name, check_page(text, name, bound)))
        dom = browse(path(name + ".html"), name, height=2400)
        eq(len([li for li in dom.all("li") if li.get("data-layer")]), len(rep["image"]["layers"]), name + ": layers")
        check_against_report(dom, rep, name)
    body = dom.body_text
    ok("more critical findings not shown here" in body or "more high findings not shown here" in body,
       "the cut says how much it left out")
    ok("layers without findings" in body or len(rep["image"]["layers"]) < 5, "quiet layers folded")
    ok("The first 80 processes are drawn" in body and "The first 600 events are shown" in body, "the run's cuts")
    return ", ".join(sizes)


@case
def reports_that_are_not_reports():
    cases = {"not-json": b"<html>", "wrong-schema": b'{"schema":"stowaway.check/v1","results":[]}',
             "array": b"[1,2,3]", "empty": b""}
    for name, data in cases.items():
        p = path(name + ".json")
        open(p, "wb").write(data)
        rc, out, err = run("report", p)
        eq(rc, 2, name + ": " + err)
        eq(out, b"", name + ": no page")
        eq(len(err.strip().splitlines()), 1, name + ": one line: " + err)
    # right schema, every other member of the wrong type: a page, no crash
    odd = {"schema": "stowaway.report/v1", "tool": [], "image": {"layers": [1, "x", None, {"index": "0",
                                                                                      "size": "big"}],
                                                                 "entrypoint": {"chain": [{"parent": 99}, {"parent": 0},
                                                                                          "x"]},
                                                                 "platforms": "linux"},
           "verdict": 3, "findings": [{"id": 1, "severity": "worst", "layer": 10 ** 12, "evidence": [1]}, "x", None],
           "incomplete": {"a": 1}, "dynamic": {"events": [{"kind": "exec", "pid": "one"}, 5, {"kind": "process",
                                                                                              "pid": 2, "ppid": 2}]},
           "decision": {"allowed": "yes", "reasons": [{"kind": {}, "text": 5}]}}
    p = path("odd.json")
    json.dump(odd, open(p, "w"))
    rc, out, err = run("report", p)
    eq(rc, 0, err)
    check_page(out.decode(), "odd", 60 * KB)


def python_image():
    """Debian with python3 (tests/fixtures/debian-rootfs.sh), as an image."""
    root = path("python3-image")
    if not os.path.exists(root):
        p = subprocess.run([os.path.join(TOP, "tests", "fixtures", "debian-rootfs.sh"), "python3", "python3"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ok(p.returncode == 0, "the Debian python3 root filesystem: " + p.stderr.decode()[-800:])
        with open(p.stdout.decode().strip(), "rb") as f:
            oci_image(root, [Layer(raw=f.read(), comp="none", created_by="mmdebstrap python3")],
                      cfg_extra={"config": {"Cmd": ["/bin/sh"]}})
        readable_by_the_sandbox()
    return "oci:" + root


def readable_by_the_sandbox():
    """Everything under WORK readable by the sandbox's ids."""
    for d, _, fs in os.walk(WORK):
        os.chmod(d, 0o755)
        for f in fs:
            os.chmod(os.path.join(d, f), 0o644 if not f.startswith("stowaway") else 0o755)


@case
def detonate_story_on_the_page():
    """The run told for people: the chain from the entrypoint to the
    process that logged in to the pool, the contact by the pool's name and
    port with the wallet and worker said there; then a Python run whose
    .pyc writes are one row with their count, not timeline rows, and a
    .pyc written where persistence lives still listed."""
    text = page_of("detonate", "--timeout", "20", "--format", "html", behave_image("miner"),
                   out=path("detonate-story.html"))
    check_page(text, "detonate-story", 200 * KB)
    dom = browse(path("detonate-story.html"), "detonate-story", height=3000)
    chains = dom.by_id("chains")
    ok(chains is not None, "the chains to the findings")
    ct = Dom.text(chains)
    ok("behave miner 9 -> [" in ct and "SW-DYN-STRATUM-LOGIN" in ct, "the miner's chain: " + ct)
    rows = [Dom.text(r) for r in dom.by_id("contacts").iter() if local(r.tag) == "tr"]
    pool = [r for r in rows if "pool.supportxmr.com:3333" in r]
    ok(len(pool) == 1 and WALLET in pool[0] and "rig-7" in pool[0] and re.search(r"198\.18\.0\.\d+:3333", pool[0]),
       "the pool's row: %s" % rows)
    script = ("mkdir -p /tmp/app /etc/cron.d/__pycache__ && cd /tmp/app && for m in a b c d e f; do echo X=1 > $m.py; "
              "done && python3 -c 'import a,b,c,d,e,f' && echo x > /etc/cron.d/__pycache__/job.pyc")
    rc, _, err = run("detonate", "--timeout", "30", "--format", "html", "--output", path("detonate-noise.html"),
                     python_image(), "--", "/bin/sh", "-c", script)
    ok(rc in (0, 1), "detonate: exit %d: %s" % (rc, err))
    text = open(path("detonate-noise.html"), "rb").read().decode("utf-8")
    check_page(text, "detonate-noise", 400 * KB)
    dom = browse(path("detonate-noise.html"), "detonate-noise", height=3000)
    noise = dom.by_id("noise")
    ok(noise is not None, "the noise table")
    row = [Dom.text(r) for r in noise.iter() if local(r.tag) == "tr" and "python-bytecode" in Dom.text(r)]
    ok(len(row) == 1, "one python-bytecode row: %s" % Dom.text(noise))
    count = int([Dom.text(td) for td in noise.iter() if local(td.tag) == "td"][1])
    ok(count >= 6, "six modules' .pyc at least: %d" % count)
    tl = Dom.text(dom.by_id("timeline"))
    ok("/tmp/app/__pycache__/" not in tl, "a .pyc write in the timeline")
    ok("/etc/cron.d/__pycache__/job.pyc" in tl, "the persistence write kept in the timeline")
    ok(("%d noise events are left out" % count) in Dom.text(dom.by_id("noise-left-out")), "the timeline's note")
    return "noise %d" % count


def main():
    return drive_module("html", "stowaway-html-", globals())


if __name__ == "__main__":
    sys.exit(main())
