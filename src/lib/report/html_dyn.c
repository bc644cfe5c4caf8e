/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox run on a report page (detonate, scan --dynamic): what ran and
 * how it ended, the process tree, who it talked to (by host and port, and
 * the names it looked up), stratum logins with their wallet and pool, the
 * files it wrote, what the sandbox refused, and the timeline. The story
 * (dynamic.story: the chains to findings, contacts by the host asked for,
 * the noise) is html_story.c's; the timeline leaves out what it collapsed.
 *
 * Everything comes from dynamic.summary and dynamic.events, which are
 * themselves a bounded prefix of the run (the sandbox says what it left
 * out as incomplete entries, shown with the others). Each table here is
 * bounded again and says what it did not show.
 */
#include <stdlib.h>
#include <string.h>

#include "html_int.h"
#include "report_int.h"
#include "../util/banned.h"

#define MAX_PROCS 200        /* in the table */
#define MAX_TREE 80          /* drawn */
#define MAX_CONTACTS 200
#define MAX_NAMES 200
#define MAX_LOGINS 50
#define MAX_FILES 200
#define MAX_BLOCKED 100
#define MAX_EVENTS 600       /* timeline rows */
#define TEXT 600

static const char *str_of(const sw_json *o, const char *k)
{
	return o ? sw_json_get_str(o, k) : NULL;
}

static bool is_kind(const sw_json *e, const char *k)
{
	const char *v = str_of(e, "kind");

	return v && strcmp(v, k) == 0;
}

static void t_of(hw *h, const sw_json *e)
{
	double t;

	if (hw_num(e, "t", &t))
		hw_printf(h, "%.3f", t);
	else
		hw_raw(h, "\xe2\x80\x94");
}

/* A string array (argv) as one line. */
static void words(hw *h, const sw_json *arr, size_t max, unsigned flags)
{
	const sw_json *w;
	size_t used = 0;

	for (w = arr && arr->type == SW_JSON_ARR ? arr->child : NULL; w && used < max; w = w->next) {
		hw_raw(h, w == arr->child ? "" : " ");
		if (w->type == SW_JSON_STR)
			used += sw_html_text(h->b, w->s, w->slen, max - used, flags) + 1;
	}
	if (w)
		hw_raw(h, " \xe2\x80\xa6");
}

/* ---- summary ---- */

static void flag(hw *h, const sw_json *run, const char *key, const char *text)
{
	const sw_json *v = sw_json_get(run, key);

	if (v && v->type == SW_JSON_BOOL && v->b)
		hw_printf(h, "; <strong>%s</strong>", text);
}

static void run_line(hw *h, const sw_json *run)
{
	double v;
	int x;

	hw_raw(h, "<dt>Run</dt><dd>");
	if (!run) {
		hw_raw(h, "<strong>no summary: the supervisor did not finish</strong> (see Not fully analysed)</dd>");
		return;
	}
	if (hw_int(run, "exit", &x))
		hw_printf(h, "exit status %d", x);
	else if (hw_int(run, "signal", &x))
		hw_printf(h, "killed by signal %d", x);
	else
		hw_raw(h, "ended");
	if (hw_num(run, "wall_seconds", &v))
		hw_printf(h, " after %.2f s", v);
	if (hw_num(run, "cpu_seconds", &v))
		hw_printf(h, "; CPU %.2f s", v);
	if (hw_num(run, "busy_seconds", &v))
		hw_printf(h, " (busy %.1f s)", v);
	if (hw_int(run, "peak_processes", &x))
		hw_printf(h, "; at most %d process%s", x, x == 1 ? "" : "es");
	if (hw_num(run, "peak_rss", &v)) {
		hw_raw(h, "; peak memory ");
		hw_size(h, (int64_t)v);
	}
	flag(h, run, "timed_out", "stopped at the time limit");
	flag(h, run, "memory_killed", "killed at the memory limit");
	flag(h, run, "process_limit", "hit the process limit");
	flag(h, run, "disk_killed", "killed at the disk limit");
	hw_raw(h, "</dd>");
}

static void summary(hw *h, const sw_json *sum)
{
	const sw_json *cmd = sw_json_get_obj(sum, "command"), *iso = sw_json_get_obj(sum, "isolation");
	const sw_json *ns = sw_json_get_arr(iso, "namespaces");
	int uid, gid;

	hw_raw(h, "<dl class=\"facts\"><dt>Ran</dt><dd><code>");
	words(h, sw_json_get(cmd, "argv"), TEXT, 0);
	hw_raw(h, "</code>");
	if (hw_int(cmd, "uid", &uid) && hw_int(cmd, "gid", &gid))
		hw_printf(h, " as uid %d, gid %d", uid, gid);
	if (str_of(cmd, "cwd")) {
		hw_wrap(h, " in <code>", str_of(cmd, "cwd"), 300, "</code>");
	}
	hw_raw(h, "</dd>");
	run_line(h, sw_json_get_obj(sum, "run"));
	if (iso) {
		hw_raw(h, "<dt>Sandbox</dt><dd>namespaces ");
		words(h, ns, 200, 0);
		hw_wrap(h, "; seccomp ", str_of(iso, "seccomp"), 64, "; network ");
		hw_cstr(h, str_of(iso, "network"), 64, 0);
		hw_raw(h, " (every name resolves to the sinkhole, every connection is accepted and recorded)");
		if (str_of(iso, "cgroup")) {
			hw_raw(h, "; cgroup: ");
			hw_cstr(h, str_of(iso, "cgroup"), 200, 0);
		}
		hw_raw(h, "</dd>");
	}
	hw_raw(h, "</dl>");
}

/* ---- processes ---- */

typedef struct proc {
	long long pid, ppid;
	const sw_json *exec;     /* its last exec event */
	const sw_json *sample;   /* its process event (comm, cpu_ms) */
	size_t execs;
} proc;

typedef struct procs {
	proc *p;
	size_t n, more;
	int *parent, *sev;
	bool *ghost;
} procs;

static bool pid_of(const sw_json *e, const char *k, long long *out)
{
	int64_t v;

	if (sw_json_get_i64(e, k, &v) < 0)
		return false;
	*out = (long long)v;
	return true;
}

static proc *proc_get(procs *ps, long long pid, long long ppid)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (ps->p[i].pid == pid)
			return &ps->p[i];
	if (ps->n >= MAX_PROCS) {
		ps->more++;
		return NULL;
	}
	ps->p[ps->n].pid = pid;
	ps->p[ps->n].ppid = ppid;
	return &ps->p[ps->n++];
}

/* The worst finding on a path the sandbox ran (-1: none). */
static int worst_on(const hw *h, const char *path)
{
	size_t k;
	int w = -1;

	for (k = 0; path && k < h->nf; k++) {
		const char *p = str_of(h->f[k], "path");
		if (p && !strcmp(p, path) && h->fsev[k] > w)
			w = h->fsev[k];
	}
	return w;
}

static int collect_procs(hw *h, const sw_json *events, procs *ps)
{
	const sw_json *e;
	size_t i, k;

	ps->p = calloc(MAX_PROCS, sizeof(*ps->p));
	ps->parent = calloc(MAX_PROCS, sizeof(*ps->parent));
	ps->sev = calloc(MAX_PROCS, sizeof(*ps->sev));
	ps->ghost = calloc(MAX_PROCS, sizeof(*ps->ghost));
	if (!ps->p || !ps->parent || !ps->sev || !ps->ghost)
		return SW_ENOMEM;
	for (e = events ? events->child : NULL; e; e = e->next) {
		long long pid, ppid = 0;
		proc *p;
		if ((!is_kind(e, "exec") && !is_kind(e, "process")) || !pid_of(e, "pid", &pid))
			continue;
		pid_of(e, "ppid", &ppid);
		if (!(p = proc_get(ps, pid, ppid)))
			continue;
		if (is_kind(e, "exec")) {
			p->exec = e;
			p->execs++;
			p->ppid = ppid;
		} else {
			p->sample = e;
		}
	}
	for (i = 0; i < ps->n; i++) {
		ps->parent[i] = -1;
		for (k = 0; k < ps->n; k++)
			if (k != i && ps->p[k].pid == ps->p[i].ppid)
				ps->parent[i] = (int)k;
		ps->sev[i] = worst_on(h, str_of(ps->p[i].exec, "path"));
		ps->ghost[i] = !ps->p[i].exec; /* never seen exec: a fork, or a process of the image's init */
	}
	return 0;
}

static void proc_line(hw *h, void *ctx, size_t i, int which, size_t max, unsigned flags)
{
	procs *ps = ctx;
	const proc *p;
	const sw_json *argv, *w;
	sw_buf t = SW_BUF_INIT(8192);
	double cpu;

	if (i == SIZE_MAX) {
		hw_raw(h, which == 0 ? "sandbox init (PID 1)" : "reaps orphans; the image's command runs under it");
		return;
	}
	p = &ps->p[i];
	if (which == 0) {
		hw_str(h, sw_json_get(p->exec ? p->exec : p->sample, p->exec ? "path" : "comm"), max, flags);
		return;
	}
	/* the line as plain text first, then escaped and cut as one */
	sw_buf_printf(&t, "pid %lld", p->pid);
	if (hw_num(p->sample, "cpu_ms", &cpu))
		sw_buf_printf(&t, " \xc2\xb7 CPU %.1f s", cpu / 1000);
	if (p->execs > 1)
		sw_buf_printf(&t, " \xc2\xb7 %zu execs", p->execs);
	if (p->exec && sw_json_get(p->exec, "dropped"))
		sw_buf_printf(&t, " \xc2\xb7 written during the run");
	if (p->exec && sw_json_get(p->exec, "memfd"))
		sw_buf_printf(&t, " \xc2\xb7 from memory (memfd)");
	argv = p->exec ? sw_json_get_arr(p->exec, "argv") : NULL;
	for (w = argv ? argv->child : NULL; w && t.len < 4096; w = w->next)
		if (w->type == SW_JSON_STR) {
			sw_buf_append(&t, w == argv->child ? " \xc2\xb7 " : " ", w == argv->child ? 4 : 1);
			sw_buf_append(&t, w->s, w->slen);
		}
	hw_str_n(h, t.data ? t.data : "", t.len, max, flags);
	sw_buf_release(&t);
}

static void proc_table(hw *h, const procs *ps)
{
	size_t i;
	double cpu;

	hw_raw(h, "<details><summary>Processes as a table</summary><table><thead><tr><th class=\"num\">PID</th>"
		  "<th class=\"num\">Parent</th><th>Program</th><th>Arguments</th><th class=\"num\">CPU s</th></tr>"
		  "</thead><tbody>");
	for (i = 0; i < ps->n; i++) {
		const proc *p = &ps->p[i];
		hw_printf(h, "<tr><td class=\"num\">%lld</td><td class=\"num\">%lld</td><td><code>", p->pid, p->ppid);
		if (p->exec)
			hw_str(h, sw_json_get(p->exec, "path"), TEXT, 0);
		else
			hw_str(h, sw_json_get(p->sample, "comm"), TEXT, 0);
		hw_raw(h, "</code></td><td><code>");
		words(h, sw_json_get(p->exec, "argv"), TEXT, 0);
		hw_raw(h, "</code></td><td class=\"num\">");
		if (hw_num(p->sample, "cpu_ms", &cpu))
			hw_printf(h, "%.1f", cpu / 1000);
		hw_raw(h, "</td></tr>");
	}
	hw_raw(h, "</tbody></table></details>");
}

static void processes(hw *h, const sw_json *events)
{
	procs ps = { 0 };
	sw_html_tree t = { 0 };

	hw_raw(h, "<h3>Processes</h3>");
	if (collect_procs(h, events, &ps) < 0) {
		h->b->err = h->b->err ? h->b->err : SW_ENOMEM;
		goto out;
	}
	if (!ps.n) {
		hw_raw(h, "<p class=\"note\">No process was recorded.</p>");
		goto out;
	}
	t.n = ps.n < MAX_TREE ? ps.n : MAX_TREE;
	t.parent = ps.parent;
	t.sev = ps.sev;
	t.ghost = ps.ghost;
	t.line = proc_line;
	t.ctx = &ps;
	t.label = "The process tree of the sandbox run";
	t.caption = "Each box is a process under its parent, with its worst finding's shape and colour (a hollow "
		    "circle: none). A dashed box never called exec (a fork of its parent: the same program).";
	sw_html__tree(h, &t);
	if (ps.n > t.n)
		hw_printf(h, "<p class=\"note\">The first %zu processes are drawn; the table has %zu.</p>", t.n, ps.n);
	if (ps.more)
		hw_printf(h, "<p class=\"note\">and %zu more processes (see the JSON report)</p>", ps.more);
	proc_table(h, &ps);
out:
	free(ps.p);
	free(ps.parent);
	free(ps.sev);
	free(ps.ghost);
}

/* ---- network ---- */

typedef struct contact {
	const char *proto, *dst, *path;
	long long port;
	size_t connects, sessions;
	long long in, out;
	const sw_json *first, *names[4], *protocol;
	size_t nnames;
} contact;

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static contact *contact_get(contact *c, size_t *n, size_t *more, const sw_json *e)
{
	const char *proto = str_of(e, "proto"), *dst = str_of(e, "dst"), *path = str_of(e, "path");
	long long port = -1;
	size_t i;

	pid_of(e, "port", &port);
	if (!proto)
		proto = is_kind(e, "udp") ? "udp" : "tcp";
	for (i = 0; i < *n; i++)
		if (same(c[i].proto, proto) && same(c[i].dst, dst) && same(c[i].path, path) && c[i].port == port)
			return &c[i];
	if (*n >= MAX_CONTACTS) {
		(*more)++;
		return NULL;
	}
	c[*n].proto = proto;
	c[*n].dst = dst;
	c[*n].path = path;
	c[*n].port = port;
	c[*n].first = e;
	return &c[(*n)++];
}

/* The name last looked up at or before event e (the pool a login went to,
 * as far as the sinkhole can tell), or NULL. */
static const sw_json *name_before(const sw_json *events, const sw_json *e)
{
	const sw_json *x, *last = NULL;
	double te = 0, tx;

	hw_num(e, "t", &te);
	for (x = events->child; x && x != e; x = x->next)
		if (is_kind(x, "dns") && hw_num(x, "t", &tx) && tx <= te)
			last = sw_json_get(x, "name");
	return last;
}

/* A name the peer was addressed by (Host, SNI), once per contact. */
static void contact_name(contact *c, const sw_json *v)
{
	size_t i;

	if (!v || v->type != SW_JSON_STR)
		return;
	for (i = 0; i < c->nnames; i++)
		if (c->names[i]->slen == v->slen && memcmp(c->names[i]->s, v->s, v->slen) == 0)
			return;
	if (c->nnames < 4)
		c->names[c->nnames++] = v;
}

static void contact_add(contact *c, const sw_json *e)
{
	long long v;

	if (is_kind(e, "connect") || is_kind(e, "send") || is_kind(e, "udp"))
		c->connects++;
	if (is_kind(e, "tcp-session")) {
		c->sessions++;
		c->protocol = sw_json_get(e, "protocol");
		if (pid_of(e, "bytes_in", &v))
			c->in += v;
		if (pid_of(e, "bytes_out", &v))
			c->out += v;
	}
	contact_name(c, sw_json_get(e, "name")); /* the name the sink gave the address for */
	contact_name(c, sw_json_get(e, is_kind(e, "tls") ? "sni" : "host"));
}

static void contact_row(hw *h, const sw_json *events, const contact *c)
{
	size_t k;

	hw_raw(h, "<tr><td>");
	for (k = 0; k < c->nnames; k++)
		hw_wrapv(h, k ? ", <code>" : "<code>", c->names[k], 300, "</code>");
	if (!c->nnames && name_before(events, c->first))
		hw_wrapv(h, "<span class=\"note\">looked up just before: <code>", name_before(events, c->first), 300,
			 "</code></span>");
	hw_wrap(h, "</td><td><code>", c->proto, 16, " ");
	hw_cstr(h, c->dst ? c->dst : c->path, 300, 0);
	if (c->port >= 0)
		hw_printf(h, ":%lld", c->port);
	hw_raw(h, "</code></td><td>");
	hw_str(h, c->protocol, 40, 0);
	hw_printf(h, "</td><td class=\"num\">%zu</td><td class=\"num\">%lld / %lld</td><td class=\"num\">",
		  c->connects ? c->connects : c->sessions, c->out, c->in);
	t_of(h, c->first);
	hw_raw(h, "</td></tr>");
}

/* An event about a peer: a connection, a session and what it carried, a
 * datagram (a DNS query to the sinkhole is a name, listed apart). */
static bool contact_event(const sw_json *e)
{
	long long port = 0;

	if (is_kind(e, "send"))
		return str_of(e, "dst") && !(pid_of(e, "port", &port) && port == 53);
	return is_kind(e, "connect") || is_kind(e, "tcp-session") || is_kind(e, "http") || is_kind(e, "tls") ||
	       is_kind(e, "udp");
}

static void contacts(hw *h, const sw_json *events)
{
	contact *c = calloc(MAX_CONTACTS, sizeof(*c));
	const sw_json *e;
	size_t n = 0, more = 0, i;

	if (!c) {
		h->b->err = h->b->err ? h->b->err : SW_ENOMEM;
		return;
	}
	for (e = events ? events->child : NULL; e; e = e->next) {
		contact *x;
		if (contact_event(e) && (x = contact_get(c, &n, &more, e)))
			contact_add(x, e);
	}
	hw_raw(h, "<h3>Network contacts</h3>");
	if (!n) {
		hw_raw(h, "<p class=\"note\">No connection was made.</p>");
	} else {
		hw_raw(h, "<table id=\"contacts\"><thead><tr><th>Host (as asked for)</th><th>Address and port</th>"
			  "<th>Protocol</th><th class=\"num\">Connections</th><th class=\"num\">Bytes out / in</th>"
			  "<th class=\"num\">First (s)</th></tr></thead><tbody>");
		for (i = 0; i < n; i++)
			contact_row(h, events, &c[i]);
		hw_raw(h, "</tbody></table><p class=\"note\">Every name resolves to an address of its own on the "
			  "sinkhole, so the host column is the name the program looked up for the address it reached, "
			  "and what it named in HTTP or TLS (for an address it did not look up, the name it looked up "
			  "last before it connected); every name it looked up is listed below.</p>");
	}
	if (more)
		hw_printf(h, "<p class=\"note\">and %zu more destinations (see the JSON report)</p>", more);
	free(c);
}

static void dns_names(hw *h, const sw_json *events)
{
	const sw_json *e, **seen = calloc(MAX_NAMES, sizeof(*seen));
	size_t *count = calloc(MAX_NAMES, sizeof(*count)), n = 0, more = 0, i;

	if (!seen || !count) {
		h->b->err = h->b->err ? h->b->err : SW_ENOMEM;
		goto out;
	}
	for (e = events ? events->child : NULL; e; e = e->next) {
		const sw_json *name = is_kind(e, "dns") ? sw_json_get(e, "name") : NULL;
		if (!name || name->type != SW_JSON_STR)
			continue;
		for (i = 0; i < n; i++)
			if (seen[i]->slen == name->slen && memcmp(seen[i]->s, name->s, name->slen) == 0)
				break;
		if (i < n) {
			count[i]++;
		} else if (n < MAX_NAMES) {
			seen[n] = name;
			count[n++] = 1;
		} else {
			more++;
		}
	}
	if (!n)
		goto out;
	hw_raw(h, "<h3>Names looked up</h3><table id=\"dns\"><thead><tr><th>Name</th><th class=\"num\">Times</th></tr>"
		  "</thead><tbody>");
	for (i = 0; i < n; i++) {
		hw_raw(h, "<tr><td><code>");
		hw_str(h, seen[i], 300, 0);
		hw_printf(h, "</code></td><td class=\"num\">%zu</td></tr>", count[i]);
	}
	hw_raw(h, "</tbody></table>");
	if (more)
		hw_printf(h, "<p class=\"note\">and %zu more lookups of other names</p>", more);
out:
	free(seen);
	free(count);
}

/* A table of the events some test picks: a heading and the table's head
 * before the first, a row each up to max, then how many were left out. */
typedef struct etable {
	bool (*want)(const sw_json *e);
	size_t max;
	const char *head;        /* our markup, up to <tbody> */
	void (*row)(hw *h, const sw_json *events, const sw_json *e);
	const char *what;        /* "stratum messages": what the count counts */
} etable;

static void event_table(hw *h, const sw_json *events, const etable *t)
{
	const sw_json *e;
	size_t n = 0, more = 0;

	for (e = events ? events->child : NULL; e; e = e->next) {
		if (!t->want(e))
			continue;
		if (n >= t->max) {
			more++;
			continue;
		}
		if (!n++)
			hw_raw(h, t->head);
		hw_raw(h, "<tr>");
		t->row(h, events, e);
		hw_raw(h, "</tr>\n");
	}
	if (n)
		hw_raw(h, "</tbody></table>");
	if (more)
		hw_printf(h, "<p class=\"note\">and %zu more %s (in the JSON report)</p>", more, t->what);
}

static bool want_stratum(const sw_json *e)
{
	return is_kind(e, "stratum");
}

static void stratum_row(hw *h, const sw_json *events, const sw_json *e)
{
	long long port;

	hw_raw(h, "<td class=\"num\">");
	t_of(h, e);
	hw_raw(h, "</td><td><code>");
	hw_cstr(h, str_of(e, "dst"), 100, 0);
	if (pid_of(e, "port", &port))
		hw_printf(h, ":%lld", port);
	hw_raw(h, "</code>");
	if (name_before(events, e)) {
		hw_wrapv(h, "<br><span class=\"note\">name looked up before: <code>", name_before(events, e), 300,
			 "</code></span>");
	}
	hw_wrap(h, "</td><td class=\"nw\">", str_of(e, "method"), 64, "</td><td><code>");
	hw_str(h, sw_json_get(e, "login"), 300, 0);
	hw_wrapv(h, "</code></td><td><code>", sw_json_get(e, "pass"), 200, "</code></td><td>");
	hw_str(h, sw_json_get(e, "agent"), 300, 0);
	hw_wrapv(h, "</td><td>", sw_json_get(e, "algo"), 200, "</td>");
}

static const etable stratum_table = {
	want_stratum, MAX_LOGINS,
	"<h3>Stratum (mining pool) sessions</h3><table id=\"stratum\"><thead><tr><th>t (s)</th><th>Pool</th>"
	"<th>Method</th><th>Login (wallet)</th><th>Password (worker)</th><th>Agent</th><th>Algorithms</th></tr>"
	"</thead><tbody>",
	stratum_row, "stratum messages",
};

/* ---- files and refusals ---- */

static bool want_file(const sw_json *e)
{
	return is_kind(e, "file-write") || is_kind(e, "file-rename") || is_kind(e, "file-link") || is_kind(e, "chmod-exec") ||
	       is_kind(e, "symlink");
}

static void file_row(hw *h, const sw_json *events, const sw_json *e)
{
	const char *per = str_of(e, "persistence");

	(void)events;
	hw_raw(h, "<td class=\"num\">");
	t_of(h, e);
	hw_wrap(h, "</td><td class=\"nw\">", str_of(e, "kind"), 32, "</td><td><code>");
	hw_str(h, sw_json_get(e, "path"), TEXT, 0);
	hw_raw(h, "</code></td><td>");
	if (per) {
		hw_wrap(h, "<strong>persistence</strong> (", per, 200, ")");
	} else if (sw_json_get(e, "create")) {
		hw_raw(h, "created");
	}
	hw_raw(h, "</td>");
}

static const etable file_table = {
	want_file, MAX_FILES,
	"<h3>Files written</h3><table id=\"files\"><thead><tr><th class=\"num\">t (s)</th><th>What</th><th>Path</th>"
	"<th>Note</th></tr></thead><tbody>",
	file_row, "file events",
};

/* ---- the timeline ---- */

static void event_text(hw *h, const sw_json *e);

static bool want_blocked(const sw_json *e)
{
	return is_kind(e, "blocked");
}

/* An event's time and process, two cells. */
static void when_who(hw *h, const sw_json *e)
{
	long long pid;

	hw_raw(h, "<td class=\"num\">");
	t_of(h, e);
	hw_raw(h, "</td><td class=\"num\">");
	if (pid_of(e, "pid", &pid))
		hw_printf(h, "%lld", pid);
	hw_raw(h, "</td>");
}

static void blocked_row(hw *h, const sw_json *events, const sw_json *e)
{
	(void)events;
	when_who(h, e);
	hw_raw(h, "<td>");
	event_text(h, e);
	hw_raw(h, "</td>");
}

static const etable blocked_table = {
	want_blocked, MAX_BLOCKED,
	"<h3>Refused by the sandbox</h3><table id=\"blocked\"><thead><tr><th class=\"num\">t (s)</th>"
	"<th class=\"num\">PID</th><th>What it asked for</th></tr></thead><tbody>",
	blocked_row, "refusals",
};

/* What an event says, on one line: its members but t, kind, pid and ppid
 * (output text kept as lines). */
static void event_text(hw *h, const sw_json *e)
{
	const sw_json *m;
	size_t k = 0;

	if (is_kind(e, "output")) {
		hw_raw(h, "<pre>");
		hw_str(h, sw_json_get(e, "text"), TEXT, SW_HTML_LINES);
		hw_raw(h, "</pre>");
		return;
	}
	for (m = e->type == SW_JSON_OBJ ? e->child : NULL; m && k < 12; m = m->next) {
		if (!strcmp(m->key, "t") || !strcmp(m->key, "kind") || !strcmp(m->key, "pid") || !strcmp(m->key, "ppid"))
			continue;
		hw_raw(h, k++ ? " \xc2\xb7 " : "");
		hw_cstr(h, m->key, 40, 0);
		hw_raw(h, " <code>");
		if (m->type == SW_JSON_STR)
			hw_str(h, m, 300, 0);
		else if (m->type == SW_JSON_ARR)
			words(h, m, 300, 0);
		else if (m->type == SW_JSON_NUM && m->is_int)
			hw_printf(h, "%lld", (long long)m->i);
		else if (m->type == SW_JSON_NUM)
			hw_printf(h, "%g", m->d);
		else if (m->type == SW_JSON_BOOL)
			hw_raw(h, m->b ? "true" : "false");
		else
			hw_raw(h, "\xe2\x80\xa6");
		hw_raw(h, "</code>");
	}
}

static void timeline(hw *h, const sw_json *events, bool story)
{
	const sw_json *e;
	size_t k = 0, noise = 0;

	hw_printf(h, "<h3>Timeline</h3><details%s><summary>%zu event%s recorded</summary><table id=\"timeline\"><thead>"
		     "<tr><th class=\"num\">t (s)</th><th class=\"num\">PID</th><th>Event</th><th>What</th></tr></thead>"
		     "<tbody>", events->n <= 60 ? " open" : "", events->n, events->n == 1 ? "" : "s");
	for (e = events->child; e && k < MAX_EVENTS; e = e->next, k++) {
		if (story && sw_story__noise(e, h->findings)) {
			noise++; /* counted in the story's noise table */
			continue;
		}
		hw_raw(h, "<tr>");
		when_who(h, e);
		hw_wrap(h, "<td class=\"nw\">", str_of(e, "kind"), 32, "</td><td>");
		event_text(h, e);
		hw_raw(h, "</td></tr>\n");
	}
	hw_raw(h, "</tbody></table></details>");
	if (noise)
		hw_printf(h, "<p class=\"note\" id=\"noise-left-out\">%zu noise event%s left out (see Noise above).</p>",
			  noise, noise == 1 ? " is" : "s are");
	if (events->n > k)
		hw_printf(h, "<p class=\"note\">The first %zu events are shown; %zu more are in the JSON report.</p>", k,
			  events->n - k);
}

void sw_html__dynamic(hw *h)
{
	const sw_json *sum = sw_json_get_obj(h->dynamic, "summary"), *events = sw_json_get_arr(h->dynamic, "events");
	const sw_json *story = sw_json_get_obj(h->dynamic, "story");

	hw_raw(h, "<section id=\"sandbox\"><h2>The sandbox run</h2>");
	summary(h, sum);
	processes(h, events);
	sw_html__story(h, story);
	if (events) {
		if (!sw_html__story_contacts(h, story))
			contacts(h, events);
		dns_names(h, events);
		event_table(h, events, &stratum_table);
		event_table(h, events, &file_table);
		event_table(h, events, &blocked_table);
		timeline(h, events, story != NULL);
	}
	hw_raw(h, "</section>\n");
}
