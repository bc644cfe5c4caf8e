/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sandbox run told as a person reads it: the "story" of a detonation
 * report (dynamic.story in JSON, the table's "What ran" part, the HTML
 * page's story section). It is read from what the report already holds,
 * the timeline's events and the findings, and adds nothing the judge did
 * not see; it is built again each time a report is written, so a report
 * merged into a scan (scan --dynamic) tells the same story.
 *
 * Three parts:
 *  - the process tree (pid/ppid from every event that names a process),
 *    each process with the programs it ran (its exec history), and for
 *    each process that raised a finding the chain from the entrypoint to
 *    it: "behave trick fdlink -> evil sleep0 (/memfd:x (deleted)) ->
 *    [SW-DYN-MEMFD-EXEC]". A finding is put on a process by the pid its
 *    evidence names, else by the file it names that a process ran, else
 *    by the address and port a process connected to, else (a CPU burn) on
 *    the process that used the most CPU; the rest are the run's.
 *  - noise: file events of the kinds every program causes (NOISE below, a
 *    documented list) collapsed into one line per kind with a count. An
 *    event that raised a finding is never noise: one that carries a
 *    persistence or sensitive mark, or whose path a finding names.
 *  - contacts grouped by host and port, the host being the name the
 *    program asked for (the event's name, SNI or HTTP Host; else the one
 *    name an address was seen with; else the address), with what was
 *    said (stratum login, wallet and worker; HTTP method, path and Host;
 *    TLS server name and whether the sinkhole opened it), counts, and the
 *    first and last time.
 *
 * Everything is bounded (processes, execs per process, contacts, lines
 * said per contact, chain depth); what a bound left out is counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

#define ST_PROCS 1024           /* processes in the tree */
#define ST_EXECS 8              /* programs kept per process */
#define ST_FIDS 8               /* findings named per process */
#define ST_DEPTH 64             /* a chain's processes */
#define ST_CHAINS 64            /* chains told */
#define ST_CONTACTS 256         /* host:port groups */
#define ST_SAID 8               /* different things said per contact */
#define ST_ADDRS 1024           /* address -> name */
#define ST_TEXT 256             /* a label, a name or a line said, in bytes */
#define ST_PATH 4096            /* a path (what findings name), in bytes */

/* The noise: what every program does that says nothing about it. A path
 * is of the first class one of whose patterns it matches: "/x/" anywhere
 * in it, "^/x" at its start, "$.x" at its end, ".so" a shared library's
 * name (lib*.so, *.so.N...). */
static const struct noise_class {
	const char *id, *what, *pat[8];
} NOISE[] = {
	{ "python-bytecode", "Python bytecode (.pyc, __pycache__)", { "/__pycache__/", "$.pyc", "$.pyo" } },
	{ "shared-libraries", "shared libraries and the loader's cache", { "^/etc/ld.so.cache", "^/etc/ld.so.conf",
									   ".so" } },
	{ "locale", "locale, time zone and character set data",
	  { "^/usr/lib/locale/", "^/usr/share/locale/", "^/usr/share/zoneinfo/", "^/etc/localtime",
	    "/gconv/", "^/usr/share/i18n/", "^/etc/locale" } },
	{ "proc-self", "the process's own /proc entries", { "^/proc/self/", "^/proc/thread-self/" } },
	{ "name-service", "name service configuration",
	  { "^/etc/nsswitch.conf", "^/etc/host.conf", "^/etc/hosts", "^/etc/resolv.conf", "^/etc/gai.conf",
	    "^/etc/passwd", "^/etc/group" } },
	{ "terminal", "terminal descriptions", { "/terminfo/" } },
	{ "system-info", "CPU and memory facts", { "^/sys/devices/system/cpu/", "^/proc/cpuinfo", "^/proc/meminfo",
						     "^/proc/stat" } },
};
#define NNOISE (sizeof(NOISE) / sizeof(NOISE[0]))

typedef struct st_exec {
	char *label, *path;
	bool failed;
} st_exec;

typedef struct st_proc {
	int64_t pid, ppid, cpu_ms;
	char *comm;
	st_exec ex[ST_EXECS];
	size_t nex;
	uint64_t exmore;
	size_t fid[ST_FIDS];       /* indices in r->f */
	size_t nfid;
	uint64_t fidmore;
} st_proc;

typedef struct st_said {
	char *text;
	uint64_t n;
} st_said;

typedef struct st_contact {
	char *host, *addr;
	const char *proto, *from;  /* from: where the host came from */
	int64_t port, pid;
	uint64_t events, connects, sessions, in, out;
	double first, last;
	st_said said[ST_SAID];
	size_t nsaid;
	uint64_t saidmore;
} st_contact;

typedef struct st_addr {
	char *addr, *name;
	bool ambiguous;
} st_addr;

struct sw_story {
	const sw_report *r;
	st_proc *p;
	size_t np;
	uint64_t pmore;
	st_contact *c;
	size_t nc;
	uint64_t cmore;
	st_addr *a;
	size_t na;
	char *dns_name;            /* the one name looked up, while there is one */
	size_t dns_names;          /* different names looked up (counted to 2) */
	uint64_t noise[NNOISE];
	char *noise_ex[NNOISE];    /* the first path of each */
	uint64_t kept;             /* noise-like events kept: they raised a finding */
	unsigned char *hide;       /* per event: collapsed as noise */
	size_t *unattr;            /* findings on no process */
	size_t nunattr;
	int rc;
};

/* ---- small things ---- */

static double num_of(const sw_json *e, const char *k)
{
	const sw_json *v = sw_json_get(e, k);

	return v && v->type == SW_JSON_NUM ? (v->is_int ? (double)v->i : v->d) : 0;
}

static int64_t int_of(const sw_json *e, const char *k)
{
	int64_t v = 0;

	(void)sw_json_get_i64(e, k, &v);
	return v;
}

/* A non-empty string member, else NULL. */
static const char *nstr(const sw_json *e, const char *k)
{
	const char *s = sw_json_get_str(e, k);

	return s && *s ? s : NULL;
}

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s && s[1] ? s + 1 : p;
}

/* A copy of at most max bytes of v, control bytes shown as '.'. */
static char *copyn(sw_story *s, const char *v, size_t max)
{
	size_t n = strnlen(v, max), i;
	char *c = malloc(n + 1);

	if (!c) {
		s->rc = SW_ENOMEM;
		return NULL;
	}
	for (i = 0; i < n; i++)
		c[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '.' : v[i];
	c[n] = 0;
	return c;
}

static char *copy(sw_story *s, const char *v)
{
	return copyn(s, v, ST_TEXT);
}

static char *copy_buf(sw_story *s, sw_buf *b)
{
	if (sw_buf_err(b)) {
		s->rc = SW_ENOMEM;
		return NULL;
	}
	return copy(s, sw_buf_cstr(b));
}

/* ---- noise ---- */

static bool matches(const char *path, const char *pat)
{
	size_t n = strlen(path), l = strlen(pat + 1);

	switch (pat[0]) {
	case '^': return strncmp(path, pat + 1, l) == 0;
	case '$': return n >= l && strcmp(path + n - l, pat + 1) == 0;
	case '.': { /* lib*.so, *.so.N */
		const char *so;
		for (so = strstr(base_of(path), ".so"); so; so = strstr(so + 3, ".so"))
			if (so[3] == 0 || (so[3] == '.' && so[4] >= '0' && so[4] <= '9'))
				return true;
		return false;
	}
	default: return strstr(path, pat) != NULL;
	}
}

static int noise_class(const char *path)
{
	size_t i, k;

	for (i = 0; i < NNOISE; i++)
		for (k = 0; k < 8 && NOISE[i].pat[k]; k++)
			if (matches(path, NOISE[i].pat[k]))
				return (int)i;
	return -1;
}

/* The class of a file event whose path looks like noise, or -1. */
static int noise_of(const sw_json *e)
{
	const char *k = sw_json_get_str(e, "kind"), *p = nstr(e, "path");

	if (!k || !p || (strncmp(k, "file-", 5) != 0 && strcmp(k, "open") != 0 && strcmp(k, "mmap") != 0))
		return -1;
	return noise_class(p);
}

/* Marked by the tracer as what a finding is made of. */
static bool marked(const sw_json *e)
{
	return sw_json_get(e, "persistence") || sw_json_get(e, "sensitive");
}

const char *sw_story__noise(const sw_json *e, const sw_json *findings)
{
	const char *p = nstr(e, "path");
	const sw_json *f;
	int c = noise_of(e);

	if (c < 0 || marked(e))
		return NULL;
	for (f = findings && findings->type == SW_JSON_ARR ? findings->child : NULL; f; f = f->next) {
		const char *fp = f->type == SW_JSON_OBJ ? sw_json_get_str(f, "path") : NULL;
		if (fp && strcmp(fp, p) == 0)
			return NULL;
	}
	return NOISE[c].id;
}

static bool finding_path(const sw_report *r, const char *p)
{
	size_t i;

	for (i = 0; i < r->nf; i++)
		if (r->f[i].path && strcmp(r->f[i].path, p) == 0)
			return true;
	return false;
}

static void on_noise(sw_story *s, const sw_json *e, size_t at)
{
	int c = noise_of(e);

	if (c < 0)
		return;
	if (marked(e) || finding_path(s->r, sw_json_get_str(e, "path"))) {
		s->kept++;
		return;
	}
	s->hide[at] = 1;
	if (!s->noise[c]++)
		s->noise_ex[c] = copy(s, sw_json_get_str(e, "path"));
}

/* ---- processes ---- */

static st_proc *proc_of(sw_story *s, int64_t pid)
{
	size_t i;

	for (i = 0; i < s->np; i++)
		if (s->p[i].pid == pid)
			return &s->p[i];
	return NULL;
}

static st_proc *proc_get(sw_story *s, int64_t pid, int64_t ppid)
{
	st_proc *p = proc_of(s, pid);

	if (!p) {
		if (s->np >= ST_PROCS) {
			s->pmore++;
			return NULL;
		}
		p = &s->p[s->np++];
		p->pid = pid;
	}
	if (ppid > 0 && ppid != pid)
		p->ppid = ppid;
	return p;
}

/* "argv0 arg arg" (three at most), and the file that ran when its name is
 * not argv[0]'s (a memfd, a loader, an interpreter). */
static void exec_label(sw_buf *b, const sw_json *e)
{
	const sw_json *argv = sw_json_get_arr(e, "argv"), *a;
	const char *path = sw_json_get_str(e, "path"), *a0 = NULL;
	int k = 0;

	for (a = argv ? argv->child : NULL; a && k < 3; a = a->next, k++) {
		if (a->type != SW_JSON_STR)
			continue;
		if (!k)
			a0 = a->s;
		sw_buf_printf(b, "%s%.60s", k ? " " : "", k ? a->s : base_of(a->s));
	}
	if (a)
		sw_buf_printf(b, " ...");
	if (path && *path && (!a0 || strcmp(base_of(a0), base_of(path)) != 0))
		sw_buf_printf(b, k ? " (%.100s)" : "%.100s", path);
}

static void on_process(sw_story *s, const sw_json *e, const char *k)
{
	int64_t pid = int_of(e, "pid");
	st_proc *p;

	if (pid <= 0 || !(p = proc_get(s, pid, int_of(e, "ppid"))))
		return;
	if (!strcmp(k, "process")) {
		const char *comm = nstr(e, "comm");
		if (comm && !p->comm)
			p->comm = copy(s, comm);
		p->cpu_ms = int_of(e, "cpu_ms") > p->cpu_ms ? int_of(e, "cpu_ms") : p->cpu_ms;
	} else if (!strcmp(k, "exec")) {
		sw_buf b = SW_BUF_INIT(4096);
		if (p->nex >= ST_EXECS) {
			p->exmore++;
			return;
		}
		exec_label(&b, e);
		p->ex[p->nex].label = copy_buf(s, &b);
		p->ex[p->nex].path = copyn(s, sw_json_get_str(e, "path") ? sw_json_get_str(e, "path") : "", ST_PATH);
		p->ex[p->nex++].failed = int_of(e, "failed") != 0;
		sw_buf_release(&b);
	}
}

/* ---- contacts ---- */

static st_addr *addr_of(sw_story *s, const char *addr)
{
	size_t i;

	for (i = 0; i < s->na; i++)
		if (strcmp(s->a[i].addr, addr) == 0)
			return &s->a[i];
	return NULL;
}

/* The name the program asked for, as the event says it. */
static const char *asked_name(const sw_json *e, const char *k)
{
	const char *n = nstr(e, "name");

	if (!n)
		n = nstr(e, "sni");
	if (!n && !strcmp(k, "http"))
		n = nstr(e, "host");
	return n;
}

/* An address seen with a name: remembered, or marked as seen with two. */
static void learn(sw_story *s, const sw_json *e, const char *k)
{
	const char *addr = nstr(e, "dst"), *name = asked_name(e, k);
	st_addr *a;

	if (!strcmp(k, "dns") && name) {
		if (s->dns_names == 0)
			s->dns_name = copy(s, name);
		if (s->dns_names == 0 || (s->dns_name && strcmp(s->dns_name, name) != 0 && s->dns_names < 2))
			s->dns_names++;
		addr = nstr(e, "address") ? nstr(e, "address") : nstr(e, "answer");
	}
	if (!addr || !name)
		return;
	if ((a = addr_of(s, addr))) {
		if (strcmp(a->name, name) != 0)
			a->ambiguous = true;
		return;
	}
	if (s->na >= ST_ADDRS)
		return;
	a = &s->a[s->na];
	a->addr = copy(s, addr);
	a->name = copy(s, name);
	if (a->addr && a->name)
		s->na++;
}

static bool contact_kind(const char *k)
{
	return !strcmp(k, "connect") || !strcmp(k, "send") || !strcmp(k, "tcp-session") || !strcmp(k, "http") ||
	       !strcmp(k, "tls") || !strcmp(k, "stratum") || !strcmp(k, "udp");
}

/* Is addr the sinkhole's (198.18.0.0/15, fd53::/16), where a name went? */
static bool sink_addr(const char *a)
{
	return !strncmp(a, "198.18.", 7) || !strncmp(a, "198.19.", 7) || !strncmp(a, "fd53:", 5);
}

static void host_of(const sw_story *s, const sw_json *e, const char *k, char *host, size_t n, const char **from)
{
	const char *name = asked_name(e, k), *addr = nstr(e, "dst");
	const st_addr *a;

	if (!addr)
		addr = nstr(e, "unix") ? nstr(e, "unix") : "?";
	*from = "event";
	if (!name && (a = addr_of((sw_story *)s, addr)) && !a->ambiguous) {
		name = a->name;
		*from = "address";
	}
	if (!name && s->dns_names == 1 && s->dns_name && sink_addr(addr)) {
		name = s->dns_name;
		*from = "dns";
	}
	if (!name) {
		name = addr;
		*from = "none";
	}
	snprintf(host, n, "%s", name);
	if (!strcmp(k, "http") && name == nstr(e, "host") && strchr(host, ':') && !strchr(host, ']'))
		*strchr(host, ':') = 0; /* Host: name:port */
}

static st_contact *contact_get(sw_story *s, const sw_json *e, const char *k)
{
	char host[ST_TEXT + 1];
	const char *from, *proto = nstr(e, "proto");
	int64_t port = int_of(e, "port");
	st_contact *c;
	size_t i;

	host_of(s, e, k, host, sizeof(host), &from);
	if (!proto)
		proto = !strcmp(k, "udp") ? "udp" : nstr(e, "unix") ? "unix" : "tcp";
	for (i = 0; i < s->nc; i++)
		if (s->c[i].port == port && strcmp(s->c[i].proto, proto) == 0 && strcmp(s->c[i].host, host) == 0)
			return &s->c[i];
	if (s->nc >= ST_CONTACTS) {
		s->cmore++;
		return NULL;
	}
	c = &s->c[s->nc];
	memset(c, 0, sizeof(*c));
	c->host = copy(s, host);
	c->addr = copy(s, nstr(e, "dst") ? nstr(e, "dst") : nstr(e, "unix") ? nstr(e, "unix") : "");
	c->proto = !strcmp(proto, "udp") ? "udp" : !strcmp(proto, "unix") || !strcmp(proto, "stream") ||
		   !strcmp(proto, "dgram") ? "unix" : "tcp";
	c->port = port;
	c->from = from;
	c->first = num_of(e, "t");
	if (!c->host || !c->addr)
		return NULL;
	s->nc++;
	return c;
}

/* What of an event is said: its key, then how it is shown. */
static const char *const stratum_said[][2] = {
	{ "login", " login %.120s" }, { "pass", " pass %.60s" }, { "rigid", " worker %.60s" },
	{ "agent", " agent %.60s" }, { "tls", " (TLS %.20s)" }, { NULL, NULL },
};
static const char *const http_said[][2] = { { "host", " Host %.60s" }, { "tls", " (TLS %.20s)" }, { NULL, NULL } };

static void members(sw_buf *b, const sw_json *e, const char *const (*said)[2])
{
	const char *v;

	for (; said[0][0]; said++)
		if ((v = nstr(e, said[0][0])))
			sw_buf_printf(b, said[0][1], v);
}

/* What one event said, for the contact's list: "" when nothing. */
static void said_of(sw_buf *b, const sw_json *e, const char *k)
{
	const char *v;

	if (!strcmp(k, "stratum")) {
		sw_buf_printf(b, "stratum %s:", sw_json_get_str(e, "method") ? sw_json_get_str(e, "method") : "?");
		members(b, e, stratum_said);
	} else if (!strcmp(k, "http")) {
		sw_buf_printf(b, "HTTP %.120s", (v = nstr(e, "request")) ? v : "?");
		members(b, e, http_said);
	} else if (!strcmp(k, "tls")) {
		sw_buf_printf(b, "TLS SNI %.100s", (v = nstr(e, "sni")) ? v : "(none)");
		if ((v = nstr(e, "tls")))
			sw_buf_printf(b, ", %s", v);
		if ((v = nstr(e, "error")))
			sw_buf_printf(b, ", %.60s", v);
	} else if (!strcmp(k, "udp") && (v = nstr(e, "first"))) {
		sw_buf_printf(b, "datagram %.60s", v);
	} else if (!strcmp(k, "tcp-session") && (v = nstr(e, "protocol")) && (!strcmp(v, "raw") || !strcmp(v, "unknown"))
		   && nstr(e, "first_in")) {
		sw_buf_printf(b, "first bytes %.60s", nstr(e, "first_in")); /* what no parser named */
	}
}

static void said_add(sw_story *s, st_contact *c, const sw_json *e, const char *k)
{
	sw_buf b = SW_BUF_INIT(4096);
	size_t i;

	said_of(&b, e, k);
	if (sw_buf_err(&b))
		s->rc = SW_ENOMEM;
	if (!b.len)
		goto out;
	for (i = 0; i < c->nsaid; i++)
		if (strncmp(c->said[i].text, sw_buf_cstr(&b), ST_TEXT) == 0) {
			c->said[i].n++;
			goto out;
		}
	if (c->nsaid >= ST_SAID) {
		c->saidmore++;
		goto out;
	}
	if ((c->said[c->nsaid].text = copy_buf(s, &b)))
		c->said[c->nsaid++].n = 1;
out:
	sw_buf_release(&b);
}

static void on_contact(sw_story *s, const sw_json *e, const char *k)
{
	st_contact *c;
	double t = num_of(e, "t");

	if (!strcmp(k, "send") && int_of(e, "port") == 53)
		return; /* a lookup: the names are listed apart */
	if (!(c = contact_get(s, e, k)))
		return;
	c->events++;
	if (t < c->first)
		c->first = t;
	if (t > c->last)
		c->last = t;
	if (!strcmp(k, "connect") || !strcmp(k, "send"))
		c->connects++; /* the sinkhole's udp event is a datagram already counted as sent */
	if (!c->pid && int_of(e, "pid") > 0)
		c->pid = int_of(e, "pid");
	if (!strcmp(k, "tcp-session")) {
		c->sessions++;
		c->in += (uint64_t)(int_of(e, "bytes_in") > 0 ? int_of(e, "bytes_in") : 0);
		c->out += (uint64_t)(int_of(e, "bytes_out") > 0 ? int_of(e, "bytes_out") : 0);
	}
	said_add(s, c, e, k);
}

/* ---- findings on processes ---- */

static void put(sw_story *s, st_proc *p, size_t f)
{
	size_t i;

	for (i = 0; i < p->nfid; i++)
		if (!strcmp(s->r->f[p->fid[i]].id, s->r->f[f].id))
			return; /* the same id on another path: once per process */
	if (p->nfid < ST_FIDS)
		p->fid[p->nfid++] = f;
	else
		p->fidmore++;
}

/* The process that ran path (as its file or a file of its chain). */
static st_proc *ran(sw_story *s, const char *path)
{
	size_t i, k;

	for (i = 0; i < s->np; i++)
		for (k = 0; k < s->p[i].nex; k++)
			if (s->p[i].ex[k].path && !strcmp(s->p[i].ex[k].path, path) && !s->p[i].ex[k].failed)
				return &s->p[i];
	return NULL;
}

static st_proc *connected(sw_story *s, const sw_json *ev)
{
	const char *dst = nstr(ev, "dst"), *name = nstr(ev, "name");
	int64_t port = int_of(ev, "port");
	size_t i;

	if (!name)
		name = nstr(ev, "sni");
	for (i = 0; i < s->nc; i++) {
		const st_contact *c = &s->c[i];
		if (!c->pid || (port && c->port != port))
			continue;
		if ((port && dst && !strcmp(c->addr, dst)) || (name && !strcmp(c->host, name)))
			return proc_of(s, c->pid);
	}
	return NULL;
}

static st_proc *busiest(sw_story *s)
{
	st_proc *b = NULL;
	size_t i;

	for (i = 0; i < s->np; i++)
		if (s->p[i].cpu_ms > 0 && (!b || s->p[i].cpu_ms > b->cpu_ms))
			b = &s->p[i];
	return b;
}

static void attribute(sw_story *s)
{
	const sw_report *r = s->r;
	size_t i;

	for (i = 0; i < r->nf && s->rc == 0; i++) {
		const sw_finding *f = &r->f[i];
		sw_json_doc *d = NULL;
		const sw_json *ev = NULL;
		st_proc *p = NULL;
		int64_t pid = 0;

		if (f->evidence && sw_json_parse(f->evidence, strlen(f->evidence), &d, NULL) == 0)
			ev = sw_json_root(d);
		if (ev && ev->type == SW_JSON_OBJ && sw_json_get_i64(ev, "pid", &pid) == 0 && pid > 0)
			p = proc_of(s, pid);
		if (!p && f->path)
			p = ran(s, f->path);
		if (!p && ev && ev->type == SW_JSON_OBJ)
			p = connected(s, ev);
		if (!p && !strcmp(f->id, "SW-DYN-CPU-BURN"))
			p = busiest(s);
		sw_json_free(d);
		if (p)
			put(s, p, i);
		else
			s->unattr[s->nunattr++] = i;
	}
}

/* ---- building ---- */

void sw_story__free(sw_story *s)
{
	size_t i, k;

	if (!s)
		return;
	for (i = 0; i < s->np; i++) {
		free(s->p[i].comm);
		for (k = 0; k < s->p[i].nex; k++) {
			free(s->p[i].ex[k].label);
			free(s->p[i].ex[k].path);
		}
	}
	for (i = 0; i < s->nc; i++) {
		free(s->c[i].host);
		free(s->c[i].addr);
		for (k = 0; k < s->c[i].nsaid; k++)
			free(s->c[i].said[k].text);
	}
	for (i = 0; i < s->na; i++) {
		free(s->a[i].addr);
		free(s->a[i].name);
	}
	for (i = 0; i < NNOISE; i++)
		free(s->noise_ex[i]);
	free(s->dns_name);
	free(s->p);
	free(s->c);
	free(s->a);
	free(s->hide);
	free(s->unattr);
	free(s);
}

/* Each event parsed once per pass (the events are the report's text);
 * pass 0 learns names, pass 1 builds. */
static void read_events(sw_story *s, int pass)
{
	size_t i;

	for (i = 0; i < s->r->nevents && s->rc == 0; i++) {
		sw_json_doc *d = NULL;
		const sw_json *e;
		const char *k;

		if (sw_json_parse(s->r->events[i], strlen(s->r->events[i]), &d, NULL) < 0)
			continue;
		e = sw_json_root(d);
		if (e->type == SW_JSON_OBJ && (k = sw_json_get_str(e, "kind"))) {
			if (pass == 0) {
				learn(s, e, k);
			} else {
				on_process(s, e, k);
				if (contact_kind(k))
					on_contact(s, e, k);
				on_noise(s, e, i);
			}
		}
		sw_json_free(d);
	}
}

int sw_story__new(const sw_report *r, sw_story **out)
{
	sw_story *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return SW_ENOMEM;
	s->r = r;
	s->p = calloc(ST_PROCS, sizeof(*s->p));
	s->c = calloc(ST_CONTACTS, sizeof(*s->c));
	s->a = calloc(ST_ADDRS, sizeof(*s->a));
	s->hide = calloc(r->nevents + 1, 1);
	s->unattr = calloc(r->nf + 1, sizeof(*s->unattr));
	if (!s->p || !s->c || !s->a || !s->hide || !s->unattr)
		s->rc = SW_ENOMEM;
	read_events(s, 0);
	read_events(s, 1);
	if (s->rc == 0)
		attribute(s);
	if ((rc = s->rc) < 0) {
		sw_story__free(s);
		return rc;
	}
	*out = s;
	return 0;
}

bool sw_story__hidden(const sw_story *s, size_t event)
{
	return s && event < s->r->nevents && s->hide[event];
}

/* ---- chains ---- */

/* The processes from the root of p's tree down to p, in order; their
 * number (at most ST_DEPTH: the nearest ones then). */
static size_t lineage(sw_story *s, st_proc *p, st_proc **out)
{
	st_proc *up[ST_DEPTH];
	size_t n = 0, i;

	while (p && n < ST_DEPTH) {
		for (i = 0; i < n; i++)
			if (up[i] == p)
				break;
		if (i < n)
			break; /* a loop in what the events said */
		up[n++] = p;
		p = p->ppid > 0 ? proc_of(s, p->ppid) : NULL;
	}
	for (i = 0; i < n; i++)
		out[i] = up[n - 1 - i];
	return n;
}

/* "a -> b -> c -> [SW-X, SW-Y]": the programs that ran, from the root;
 * a process that ran none (a fork) adds nothing but its pid in steps. */
static void chain_text(sw_story *s, st_proc *p, sw_buf *b)
{
	st_proc *line[ST_DEPTH];
	size_t n = lineage(s, p, line), i, k;
	bool any = false;

	for (i = 0; i < n; i++)
		for (k = 0; k < line[i]->nex; k++) {
			if (line[i]->ex[k].failed)
				continue;
			if (b->len > 12000) { /* a deep chain: cut, its findings still said */
				sw_buf_printf(b, " -> ...");
				i = n - 1;
				break;
			}
			sw_buf_printf(b, "%s%s", any ? " -> " : "", line[i]->ex[k].label ? line[i]->ex[k].label : "?");
			any = true;
		}
	if (!any)
		sw_buf_printf(b, "pid %lld", (long long)p->pid);
	sw_buf_printf(b, " -> [");
	for (k = 0; k < p->nfid; k++)
		sw_buf_printf(b, "%s%s", k ? ", " : "", s->r->f[p->fid[k]].id);
	if (p->fidmore)
		sw_buf_printf(b, ", %llu more", (unsigned long long)p->fidmore);
	sw_buf_putc(b, ']');
}

/* ---- JSON ---- */

/* "findings": the ids of the findings attributed to p. */
static void json_fids(const sw_story *s, const st_proc *p, sw_jw *w)
{
	size_t k;

	sw_jw_karr(w, "findings");
	for (k = 0; k < p->nfid; k++)
		sw_jw_str(w, s->r->f[p->fid[k]].id);
	sw_jw_end(w);
}

static void json_procs(sw_story *s, sw_jw *w)
{
	size_t i, k;

	sw_jw_karr(w, "processes");
	for (i = 0; i < s->np; i++) {
		const st_proc *p = &s->p[i];
		sw_jw_obj(w);
		sw_jw_kint(w, "pid", p->pid);
		if (p->ppid > 0)
			sw_jw_kint(w, "ppid", p->ppid);
		if (p->comm)
			sw_jw_kstr(w, "comm", p->comm);
		if (p->cpu_ms)
			sw_jw_kint(w, "cpu_ms", p->cpu_ms);
		sw_jw_karr(w, "ran");
		for (k = 0; k < p->nex; k++) {
			sw_jw_obj(w);
			sw_jw_kstr(w, "label", p->ex[k].label ? p->ex[k].label : "?");
			sw_jw_kstr(w, "path", p->ex[k].path ? p->ex[k].path : "");
			if (p->ex[k].failed)
				sw_jw_kbool(w, "failed", true);
			sw_jw_end(w);
		}
		sw_jw_end(w);
		if (p->exmore)
			sw_jw_kuint(w, "ran_more", p->exmore);
		if (p->nfid)
			json_fids(s, p, w);
		sw_jw_end(w);
	}
	sw_jw_end(w);
}

static void json_chains(sw_story *s, sw_jw *w)
{
	size_t i, k, n = 0;

	sw_jw_karr(w, "chains");
	for (i = 0; i < s->np && n < ST_CHAINS; i++) {
		st_proc *p = &s->p[i], *line[ST_DEPTH];
		size_t nl;
		sw_buf b = SW_BUF_INIT(16384);
		if (!p->nfid)
			continue;
		n++;
		nl = lineage(s, p, line);
		chain_text(s, p, &b);
		sw_jw_obj(w);
		sw_jw_kint(w, "pid", p->pid);
		json_fids(s, p, w);
		sw_jw_karr(w, "pids");
		for (k = 0; k < nl; k++)
			sw_jw_int(w, line[k]->pid);
		sw_jw_end(w);
		sw_jw_kstr(w, "text", sw_buf_err(&b) ? "?" : sw_buf_cstr(&b));
		sw_jw_end(w);
		sw_buf_release(&b);
	}
	sw_jw_end(w);
	sw_jw_karr(w, "run_findings");
	for (i = 0; i < s->nunattr; i++)
		sw_jw_str(w, s->r->f[s->unattr[i]].id);
	sw_jw_end(w);
}

static void json_noise(sw_story *s, sw_jw *w)
{
	size_t i;

	sw_jw_karr(w, "noise");
	for (i = 0; i < NNOISE; i++) {
		if (!s->noise[i])
			continue;
		sw_jw_obj(w);
		sw_jw_kstr(w, "class", NOISE[i].id);
		sw_jw_kstr(w, "what", NOISE[i].what);
		sw_jw_kuint(w, "count", s->noise[i]);
		sw_jw_kstr(w, "first", s->noise_ex[i] ? s->noise_ex[i] : "");
		sw_jw_end(w);
	}
	sw_jw_end(w);
	sw_jw_kuint(w, "noise_kept", s->kept);
}

static void json_contacts(sw_story *s, sw_jw *w)
{
	size_t i, k;

	sw_jw_karr(w, "contacts");
	for (i = 0; i < s->nc; i++) {
		const st_contact *c = &s->c[i];
		sw_jw_obj(w);
		sw_jw_kstr(w, "host", c->host);
		sw_jw_kint(w, "port", c->port);
		sw_jw_kstr(w, "proto", c->proto);
		sw_jw_kstr(w, "address", c->addr);
		sw_jw_kstr(w, "host_from", c->from);
		sw_jw_kuint(w, "events", c->events);
		sw_jw_kuint(w, "connects", c->connects);
		sw_jw_kuint(w, "sessions", c->sessions);
		sw_jw_kuint(w, "bytes_out", c->out);
		sw_jw_kuint(w, "bytes_in", c->in);
		sw_jw_key(w, "first");
		sw_jw_real(w, c->first, 3);
		sw_jw_key(w, "last");
		sw_jw_real(w, c->last, 3);
		if (c->pid)
			sw_jw_kint(w, "pid", c->pid);
		sw_jw_karr(w, "said");
		for (k = 0; k < c->nsaid; k++) {
			sw_jw_obj(w);
			sw_jw_kstr(w, "text", c->said[k].text);
			sw_jw_kuint(w, "count", c->said[k].n);
			sw_jw_end(w);
		}
		sw_jw_end(w);
		if (c->saidmore)
			sw_jw_kuint(w, "said_more", c->saidmore);
		sw_jw_end(w);
	}
	sw_jw_end(w);
}

void sw_story__json(sw_story *s, sw_jw *w)
{
	sw_jw_obj(w);
	json_procs(s, w);
	if (s->pmore)
		sw_jw_kuint(w, "processes_more", s->pmore);
	json_chains(s, w);
	json_noise(s, w);
	json_contacts(s, w);
	if (s->cmore)
		sw_jw_kuint(w, "contacts_more", s->cmore);
	sw_jw_end(w);
}

/* ---- the table ---- */

static void term(sw_buf *b, const char *s, size_t max)
{
	size_t taken;

	if (!s)
		return;
	(void)sw_buf_term(b, s, strlen(s), max, &taken);
	if (taken < strlen(s))
		sw_buf_printf(b, "...");
}

/* The tree, depth first from each root, indented; at most 200 lines. */
static void table_tree(sw_story *s, sw_buf *b, const st_proc *p, int depth, size_t *lines)
{
	size_t i, k;

	if (depth > ST_DEPTH || (*lines)++ >= 200)
		return;
	sw_buf_printf(b, "  %*spid %lld ", depth * 2, "", (long long)p->pid);
	for (k = 0; k < p->nex; k++) {
		sw_buf_printf(b, "%s", k ? " => " : "");
		term(b, p->ex[k].label, ST_TEXT);
		if (p->ex[k].failed)
			sw_buf_printf(b, " (failed)");
	}
	if (!p->nex) {
		sw_buf_putc(b, '(');
		term(b, p->comm ? p->comm : "fork", 32);
		sw_buf_putc(b, ')');
	}
	if (p->cpu_ms >= 1000)
		sw_buf_printf(b, "  CPU %.1f s", (double)p->cpu_ms / 1000);
	for (k = 0; k < p->nfid; k++)
		sw_buf_printf(b, "%s%s", k ? ", " : "  [", s->r->f[p->fid[k]].id);
	sw_buf_printf(b, "%s\n", p->nfid ? "]" : "");
	for (i = 0; i < s->np; i++)
		if (s->p[i].ppid == p->pid && &s->p[i] != p)
			table_tree(s, b, &s->p[i], depth + 1, lines);
}

static void table_contacts(sw_story *s, sw_buf *b, const char *bold, const char *off)
{
	size_t i, k;

	if (!s->nc)
		return;
	sw_buf_printf(b, "%sNetwork contacts (by host and port)%s\n", bold, off);
	for (i = 0; i < s->nc; i++) {
		const st_contact *c = &s->c[i];
		sw_buf_printf(b, "  %s ", c->proto);
		term(b, c->host, ST_TEXT);
		if (strcmp(c->proto, "unix"))
			sw_buf_printf(b, ":%lld", (long long)c->port);
		if (strcmp(c->host, c->addr)) {
			sw_buf_printf(b, " (");
			term(b, c->addr, 64);
			sw_buf_printf(b, ")");
		}
		sw_buf_printf(b, "  %llu connect%s, %llu session%s, %.3f-%.3f s", (unsigned long long)c->connects,
			      c->connects == 1 ? "" : "s", (unsigned long long)c->sessions, c->sessions == 1 ? "" : "s",
			      c->first, c->last);
		if (c->out || c->in)
			sw_buf_printf(b, ", %llu bytes out, %llu in", (unsigned long long)c->out,
				      (unsigned long long)c->in);
		sw_buf_putc(b, '\n');
		for (k = 0; k < c->nsaid; k++) {
			sw_buf_printf(b, "      ");
			term(b, c->said[k].text, ST_TEXT);
			if (c->said[k].n > 1)
				sw_buf_printf(b, " (x%llu)", (unsigned long long)c->said[k].n);
			sw_buf_putc(b, '\n');
		}
		if (c->saidmore)
			sw_buf_printf(b, "      and %llu more messages\n", (unsigned long long)c->saidmore);
	}
	if (s->cmore)
		sw_buf_printf(b, "  and %llu more contacts (see --format json)\n", (unsigned long long)s->cmore);
	sw_buf_putc(b, '\n');
}

void sw_story__table(sw_story *s, sw_buf *b, const char *bold, const char *off)
{
	size_t i, lines = 0, n = 0;
	bool noise = false;

	if (s->np) {
		sw_buf_printf(b, "%sProcesses%s\n", bold, off);
		for (i = 0; i < s->np; i++)
			if (s->p[i].ppid <= 0 || !proc_of(s, s->p[i].ppid))
				table_tree(s, b, &s->p[i], 0, &lines);
		if (lines > 200)
			sw_buf_printf(b, "  ... and more processes (see --format json)\n");
		if (s->pmore)
			sw_buf_printf(b, "  and %llu processes not followed\n", (unsigned long long)s->pmore);
		sw_buf_putc(b, '\n');
	}
	for (i = 0; i < s->np && n < ST_CHAINS; i++) {
		sw_buf c = SW_BUF_INIT(16384);
		if (!s->p[i].nfid)
			continue;
		if (!n++)
			sw_buf_printf(b, "%sFrom the entrypoint to each finding%s\n", bold, off);
		chain_text(s, &s->p[i], &c);
		sw_buf_printf(b, "  pid %lld: ", (long long)s->p[i].pid);
		term(b, sw_buf_err(&c) ? "?" : sw_buf_cstr(&c), 4096);
		sw_buf_putc(b, '\n');
		sw_buf_release(&c);
	}
	if (n && s->nunattr) {
		sw_buf_printf(b, "  the run as a whole: ");
		for (i = 0; i < s->nunattr; i++)
			sw_buf_printf(b, "%s%s", i ? ", " : "", s->r->f[s->unattr[i]].id);
		sw_buf_putc(b, '\n');
	}
	if (n)
		sw_buf_putc(b, '\n');
	table_contacts(s, b, bold, off);
	for (i = 0; i < NNOISE; i++) {
		if (!s->noise[i])
			continue;
		if (!noise)
			sw_buf_printf(b, "%sNoise (collapsed from the timeline)%s\n", bold, off);
		noise = true;
		sw_buf_printf(b, "  %-16s %6llu events: %s, e.g. ", NOISE[i].id, (unsigned long long)s->noise[i],
			      NOISE[i].what);
		term(b, s->noise_ex[i], 120);
		sw_buf_putc(b, '\n');
	}
	if (noise)
		sw_buf_putc(b, '\n');
}
