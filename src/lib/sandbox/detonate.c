/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `stowaway detonate`: the main process's side. Assemble the image's root
 * filesystem, work out what the image runs (Entrypoint, Cmd, Env,
 * WorkingDir, User, as a runtime would), start the supervisor (box.c),
 * write its user namespace's id maps, read its events, and turn them into
 * a report: the timeline, behaviour findings (behave.c) and the static
 * findings of every file the image executed (the scan engine over the
 * copies the tracer kept).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox_int.h"
#include "../image/runconf.h"
#include "../report/report_int.h"

/* Who the sandbox is on the host when stowaway runs as root: an id no
 * account uses, so the sandbox owns nothing of the host's. */
#define SANDBOX_ROOT_ID 2146435072u

/* The timeline keeps the first TIMELINE_EVENTS events or TIMELINE_BYTES
 * of their text, whichever bound comes first; limit, timeout and error
 * events have TIMELINE_RESERVED places past it. Every event is judged. */
#define TIMELINE_EVENTS 20000
#define TIMELINE_BYTES (64u << 20)
#define TIMELINE_RESERVED 64
#define MAX_EXECS 1024          /* the tracer keeps at most as many files */
#define SANDBOX_NOFILE 4096     /* its RLIMIT_NOFILE (box.c) */

/* ---- the command, as a runtime would run it ---- */

static int open_in(int root, const char *path, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

static bool executable_in(int root, const char *path)
{
	struct stat st;
	int fd = open_in(root, path, O_PATH);
	bool ok;

	if (fd < 0)
		return false;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
	close(fd);
	return ok;
}

/* Look name up in /etc/passwd or /etc/group of the image: the id, the
 * primary group (passwd) and the home directory. */
static int lookup_db(int root, const char *db, const char *name, unsigned *id, unsigned *gid, char *home, size_t hn)
{
	char buf[65536], *line, *save = NULL;
	int fd = open_in(root, db, O_RDONLY | O_NONBLOCK);
	ssize_t n;
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (n = read(fd, buf, sizeof(buf) - 1)) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[7] = { 0 }, *p = line;
		int k;
		for (k = 0; k < 7 && p; k++) {
			f[k] = p;
			if ((p = strchr(p, ':')))
				*p++ = 0;
		}
		if (!f[0] || !f[2] || strcmp(f[0], name) != 0)
			continue;
		*id = (unsigned)strtoul(f[2], NULL, 10);
		if (gid && f[3])
			*gid = (unsigned)strtoul(f[3], NULL, 10);
		if (home && f[5])
			snprintf(home, hn, "%s", f[5]);
		return 0;
	}
	return -1;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));

	if (!nv)
		return -1;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -1;
	nv[++*n] = NULL;
	return 0;
}

static void strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void cmd_free(sw_box_cmd *c)
{
	strv_free(c->argv);
	strv_free(c->env);
	free(c->cwd);
	free(c->exe);
	memset(c, 0, sizeof(*c));
}

static int resolve_cmd(const sw_image *img, const sw_detonate_opts *o, int root, sw_box_cmd *c, sw_jw *desc,
		       sw_error *err)
{
	size_t clen = 0, na = 0, ne = 0, i;
	const char *cj = sw_image_config(img, &clen), *user, *wd, *path;
	sw_runconf run;
	char home[512] = "/root", found[4200];
	bool have_path, have_home;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	/* what a runtime would run: the same reading as the static analysers' */
	if (sw_runconf_parse(cj, clen, &run) == SW_ENOMEM)
		goto oom;
	user = run.user;
	wd = run.workdir;
	path = run.path;
	have_path = run.has_path;
	have_home = run.has_home;
	if (o->cmd && o->ncmd) {
		for (i = 0; i < o->ncmd; i++)
			if (strv_push(&c->argv, &na, o->cmd[i]) < 0)
				goto oom;
	} else {
		for (i = 0; i < run.argc; i++)
			if (strv_push(&c->argv, &na, run.argv[i]) < 0)
				goto oom;
	}
	if (!na) {
		rc = sw_error_set(err, SW_EINVAL, "the image has neither Entrypoint nor Cmd: give a command (-- CMD ARG...)");
		goto out;
	}
	for (i = 0; i < run.nenv; i++)
		if (strv_push(&c->env, &ne, run.env[i]) < 0)
			goto oom;
	c->cwd = strdup(wd ? wd : "/");
	if (!c->cwd)
		goto oom;
	if (user && *user) {
		char u[256], *g;
		snprintf(u, sizeof(u), "%s", user);
		if ((g = strchr(u, ':')))
			*g++ = 0;
		if (all_digits(u)) {
			c->uid = (unsigned)strtoul(u, NULL, 10);
			c->gid = c->uid;
			home[0] = 0;
		} else if (lookup_db(root, "/etc/passwd", u, &c->uid, &c->gid, home, sizeof(home)) < 0) {
			rc = sw_error_set(err, SW_ENOTFOUND, "User \"%s\": no such user in the image's /etc/passwd", user);
			goto out;
		}
		if (g && all_digits(g))
			c->gid = (unsigned)strtoul(g, NULL, 10);
		else if (g && lookup_db(root, "/etc/group", g, &c->gid, NULL, NULL, 0) < 0) {
			rc = sw_error_set(err, SW_ENOTFOUND, "User \"%s\": no such group in the image's /etc/group", user);
			goto out;
		}
	}
	if (!have_path && strv_push(&c->env, &ne, "PATH=" SW_RUNCONF_DEFAULT_PATH) < 0)
		goto oom;
	if (strv_push(&c->env, &ne, "HOSTNAME=sandbox") < 0)
		goto oom;
	if (!have_home) {
		char h[600];
		snprintf(h, sizeof(h), "HOME=%s", home[0] ? home : "/");
		if (strv_push(&c->env, &ne, h) < 0)
			goto oom;
	}
	/* argv[0] as execvp would find it, in the image */
	found[0] = 0;
	if (strchr(c->argv[0], '/')) {
		if (c->argv[0][0] == '/')
			snprintf(found, sizeof(found), "%s", c->argv[0]);
		else
			snprintf(found, sizeof(found), "%s/%s", c->cwd, c->argv[0]);
	} else {
		const char *p = path;
		while (*p) {
			const char *q = strchr(p, ':');
			size_t l = q ? (size_t)(q - p) : strlen(p);
			char cand[4200];
			snprintf(cand, sizeof(cand), "%.*s/%s", (int)l, l ? p : ".", c->argv[0]);
			if (executable_in(root, cand)) {
				snprintf(found, sizeof(found), "%s", cand);
				break;
			}
			p += l + (q ? 1 : 0);
			if (!q)
				break;
		}
	}
	if (!found[0] || !executable_in(root, found)) {
		rc = sw_error_set(err, SW_ENOTFOUND, "\"%s\": no such executable in the image (PATH %s)", c->argv[0], path);
		goto out;
	}
	if (!(c->exe = strdup(found)))
		goto oom;
	sw_jw_kobj(desc, "command");
	sw_jw_kstr(desc, "exe", found);
	sw_jw_karr(desc, "argv");
	for (i = 0; i < na; i++)
		sw_jw_str(desc, c->argv[i]);
	sw_jw_end(desc);
	sw_jw_kstr(desc, "cwd", c->cwd);
	sw_jw_kuint(desc, "uid", c->uid);
	sw_jw_kuint(desc, "gid", c->gid);
	sw_jw_end(desc);
	goto out;
oom:
	rc = sw_error_set(err, SW_ENOMEM, "out of memory");
out:
	/* the error texts above quote user and path: built before this */
	sw_runconf_release(&run);
	if (rc < 0)
		cmd_free(c);
	return rc;
}

/* ---- the work directory ---- */

/* chown (or remove) a tree by descriptors, never following a link. */
static int tree_at(int dfd, const char *name, unsigned depth, bool remove, uid_t uid, gid_t gid)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int sub, rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!remove && fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -1;
	if (!S_ISDIR(st.st_mode))
		return remove ? unlinkat(dfd, name, 0) : rc;
	if (depth > 4096)
		return -1;
	if (remove && (st.st_mode & 0700) != 0700)
		(void)fchmodat(dfd, name, 0700, 0); /* the sandbox may have locked its dirs */
	if ((sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (!(d = fdopendir(sub))) {
		close(sub);
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    tree_at(sub, de->d_name, depth + 1, remove, uid, gid) < 0)
			rc = -1;
	closedir(d);
	if (remove && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		rc = -1;
	return rc;
}

/* ---- events ---- */

/* One line for the table: time, pid, kind, then the fields. The values
 * are what the sandboxed program chose (paths, arguments, names, its
 * output): each is escaped for the terminal here, where its length is known
 * (it may hold NULs), and the table prints the line as it is. */
static void render(const sw_json *ev, sw_buf *out)
{
	const sw_json *m;
	const char *kind = sw_json_get_str(ev, "kind");
	int64_t pid = 0;
	double t = 0;

	if ((m = sw_json_get(ev, "t")) && m->type == SW_JSON_NUM)
		t = m->is_int ? (double)m->i : m->d;
	(void)sw_json_get_i64(ev, "pid", &pid);
	sw_buf_reset(out);
	sw_buf_printf(out, "%8.3fs ", t);
	if (pid > 0)
		sw_buf_printf(out, "pid %-5lld ", (long long)pid);
	else
		sw_buf_printf(out, "%-10s", "");
	sw_buf_printf(out, "%-12s", kind ? kind : "?");
	for (m = ev->child; m; m = m->next) {
		if (!strcmp(m->key, "t") || !strcmp(m->key, "kind") || !strcmp(m->key, "pid"))
			continue;
		sw_buf_printf(out, " %s=", m->key);
		if (m->type == SW_JSON_STR) {
			size_t taken;
			(void)sw_buf_term(out, m->s, m->slen, 160, &taken);
			if (taken < m->slen)
				sw_buf_printf(out, "...");
		} else if (m->type == SW_JSON_NUM) {
			if (m->is_int)
				sw_buf_printf(out, "%lld", (long long)m->i);
			else
				sw_buf_printf(out, "%g", m->d);
		} else if (m->type == SW_JSON_ARR) {
			const sw_json *a;
			size_t tot = 0;
			sw_buf_putc(out, '[');
			for (a = m->child; a && tot < 240; a = a->next) {
				size_t at = out->len;
				if (a != m->child)
					sw_buf_putc(out, ' ');
				if (a->type == SW_JSON_STR)
					(void)sw_buf_term(out, a->s, a->slen, 120, NULL);
				tot += out->len - at;
			}
			sw_buf_putc(out, ']');
		} else if (m->type == SW_JSON_BOOL) {
			sw_buf_printf(out, "%s", m->b ? "true" : "false");
		}
	}
}

/* What main keeps of the run while it reads the events: each is parsed,
 * judged and either added to the timeline or only counted; its parse is
 * gone before the next. Memory is the timeline's bound plus a line. */
typedef struct exec_rec {
	char sha[SW_SHA256_LEN * 2 + 1];
	char *path;
} exec_rec;

typedef struct runlog {
	sw_report *r;
	sw_judge *j;
	sw_buf line;               /* an event's table line */
	uint64_t lines;            /* event lines read, the summary excluded */
	uint64_t unreadable;       /* lines that were not an event */
	uint64_t oversized;        /* events the supervisor could only name */
	uint64_t unrecorded;       /* judged, left out of the timeline */
	uint64_t text;             /* bytes of event text in the timeline */
	bool full;                 /* the timeline took its last event */
	size_t reserved;
	char *summary;             /* its text, when it came */
	int64_t summary_events;    /* how many events it says came before it */
	uint64_t lines_before;     /* and how many did */
	char *err_what, *err_reason; /* the first "error" event (set-up failed) */
	exec_rec *execs;           /* sha256 -> the path it was first run as */
	size_t nexecs;
} runlog;

static void runlog_release(runlog *g)
{
	size_t i;

	for (i = 0; i < g->nexecs; i++)
		free(g->execs[i].path);
	free(g->execs);
	free(g->summary);
	free(g->err_what);
	free(g->err_reason);
	sw_buf_release(&g->line);
	sw_judge_free(g->j);
}

static const char *exec_path_of(const runlog *g, const char *sha)
{
	size_t i;

	for (i = 0; i < g->nexecs; i++)
		if (strcmp(g->execs[i].sha, sha) == 0)
			return g->execs[i].path;
	return NULL;
}

/* An exec: where its file went (for the static findings' paths), and an
 * incomplete when the tracer did not keep it for the scan; the same for
 * each file of its chain (a #! script, the program a loader or an
 * interpreter was given). */
static int on_exec_file(runlog *g, const sw_json *e);

static int on_exec_event(runlog *g, const sw_json *e)
{
	const sw_json *chain = sw_json_get_arr(e, "chain"), *c;
	int rc = on_exec_file(g, e);

	for (c = chain ? chain->child : NULL; c && rc == 0; c = c->next)
		if (c->type == SW_JSON_OBJ)
			rc = on_exec_file(g, c);
	return rc;
}

static int on_exec_file(runlog *g, const sw_json *e)
{
	const char *sha = sw_json_get_str(e, "sha256"), *path = sw_json_get_str(e, "path");
	const char *ns = sw_json_get_str(e, "not_scanned");
	int rc = 0;

	if (path && !*path)
		path = NULL;
	if (ns) {
		char *why = sw__asprintf("executed file (sha256 %s) not scanned: %s", sha ? sha : "?", ns);
		rc = why ? sw_judge_incomplete(g->j, path, why) : SW_ENOMEM;
		free(why);
	}
	if (rc < 0 || !sha || !path || strlen(sha) != SW_SHA256_LEN * 2 || exec_path_of(g, sha) ||
	    g->nexecs >= MAX_EXECS)
		return rc;
	if (!g->execs && !(g->execs = calloc(MAX_EXECS, sizeof(*g->execs))))
		return SW_ENOMEM;
	if (!(g->execs[g->nexecs].path = sw__strdup(path)))
		return SW_ENOMEM;
	memcpy(g->execs[g->nexecs++].sha, sha, SW_SHA256_LEN * 2 + 1);
	return 0;
}

/* Into the timeline while it has room (a prefix of the run: once an event
 * is left out, so is every later one), else counted. */
static int record(runlog *g, const sw_json *e, const char *kind, const char *text, size_t n)
{
	bool reserved = !strcmp(kind, "limit") || !strcmp(kind, "timeout") || !strcmp(kind, "error");

	if (!g->full && g->r->nevents < TIMELINE_EVENTS && g->text + n <= TIMELINE_BYTES) {
		g->text += n;
	} else if (reserved && g->reserved < TIMELINE_RESERVED) {
		g->reserved++;
	} else {
		g->full = true;
		g->unrecorded++;
		return 0;
	}
	render(e, &g->line);
	return sw_report__add_event(g->r, text, sw_buf_cstr(&g->line));
}

/* One event line (NUL-terminated at n): judged, then recorded or counted.
 * The summary goes to the report's summary, not the timeline. 0 or
 * SW_ENOMEM. */
static int on_line(runlog *g, const char *text, size_t n)
{
	sw_json_doc *d = NULL;
	const sw_json *e = NULL;
	const char *k = NULL;
	int rc = 0;

	if (sw_json_parse(text, n, &d, NULL) == 0 && (e = sw_json_root(d))->type == SW_JSON_OBJ)
		k = sw_json_get_str(e, "kind");
	if (!k) {
		g->lines++;
		g->unreadable++; /* our own writer made it: a line cut short */
	} else if (!strcmp(k, "summary")) {
		if (!g->summary) {
			g->lines_before = g->lines;
			(void)sw_json_get_i64(e, "events", &g->summary_events);
			if (!(g->summary = sw__strndup(text, n)))
				rc = SW_ENOMEM;
		}
		if (rc == 0)
			rc = sw_judge_event(g->j, e);
	} else {
		g->lines++;
		if (!strcmp(k, "error") && !g->err_what) {
			const char *w = sw_json_get_str(e, "what"), *why = sw_json_get_str(e, "reason");
			g->err_what = sw__strdup(w ? w : "set-up");
			g->err_reason = sw__strdup(why ? why : "failed");
			if (!g->err_what || !g->err_reason)
				rc = SW_ENOMEM;
		}
		if (!strcmp(k, "oversized"))
			g->oversized++;
		if (rc == 0 && !strcmp(k, "exec"))
			rc = on_exec_event(g, e);
		if (rc == 0)
			rc = sw_judge_event(g->j, e);
		if (rc == 0)
			rc = record(g, e, k, text, n);
	}
	sw_json_free(d);
	return rc < 0 ? SW_ENOMEM : 0;
}

/* Read the supervisor's events until it closes the pipe or the deadline
 * passes (then it is killed: it must never outlive its budget). Every
 * line is handled as soon as it is whole: the supervisor waits for us
 * when we are behind, so we never stop reading. -1 the deadline, -2 out
 * of memory. */
static int read_events(int fd, pid_t m, uint64_t deadline_ns, runlog *g)
{
	sw_buf acc = SW_BUF_INIT(SW_EV_LINE_MAX + 65536);
	char buf[65536];
	bool skipping = false; /* the rest of a line past the bound */
	int rc = 0;

	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		uint64_t now = sw_sbx_now();
		ssize_t n;
		char *nl;
		size_t start = 0;

		if (now >= deadline_ns) {
			kill(m, SIGKILL);
			rc = -1;
			break;
		}
		if (poll(&pf, 1, (int)((deadline_ns - now) / 1000000ull) + 1) <= 0)
			continue;
		if ((n = read(fd, buf, sizeof(buf))) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0)
			break;
		if (sw_buf_append(&acc, buf, (size_t)n) < 0) {
			rc = -2;
			break;
		}
		while ((nl = memchr(acc.data + start, '\n', acc.len - start))) {
			*nl = 0;
			if (!skipping && on_line(g, acc.data + start, (size_t)(nl - (acc.data + start))) < 0) {
				rc = -2;
				goto out;
			}
			skipping = false;
			start = (size_t)(nl - acc.data) + 1;
		}
		if (start) {
			memmove(acc.data, acc.data + start, acc.len - start);
			acc.len -= start;
		}
		if (acc.len >= SW_EV_LINE_MAX) {
			/* no event is this long: not one of ours, skipped to its end */
			if (!skipping) {
				g->lines++;
				g->unreadable++;
			}
			skipping = true;
			acc.len = 0;
		}
	}
	if (acc.len && !skipping) { /* the supervisor ended in the middle of a line */
		g->lines++;
		g->unreadable++;
	}
out:
	sw_buf_release(&acc);
	return rc;
}

/* ---- the static scan of what ran ---- */

/* The static detectors over the copies the tracer kept, their findings
 * and incompletes put on the paths the files ran as. Every incomplete
 * goes through the judge, which raises its SW-INCOMPLETE finding (the
 * scan's own are not copied: one per entry, not two). */
static int scan_executed(const char *artdir, const sw_detonate_opts *o, runlog *g, sw_error *err)
{
	sw_scan_opts so = SW_SCAN_OPTS_INIT;
	sw_image_opts io = SW_IMAGE_OPTS_INIT;
	sw_image *img = NULL;
	sw_report *sr = NULL, *r = g->r;
	char *in;
	size_t i;
	int rc;
	DIR *d = opendir(artdir);
	bool any = false;
	struct dirent *de;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		any |= de->d_name[0] != '.';
	closedir(d);
	if (!any)
		return 0;
	if (o->scan)
		so = *o->scan;
	so.progress = NULL;
	if (!(in = sw__asprintf("dir:%s", artdir)))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	rc = sw_image_open(&img, in, &io, err);
	free(in);
	if (rc < 0)
		return rc;
	if ((rc = sw_scan_image(img, &so, &sr, err)) < 0) {
		sw_image_free(img);
		return rc;
	}
	for (i = 0; i < sw_report_finding_count(sr); i++) {
		sw_finding f = *sw_report_finding(sr, i);
		const char *p = f.path && f.path[0] == '/' ? exec_path_of(g, f.path + 1) : NULL;
		sw_buf evb = SW_BUF_INIT(SIZE_MAX);
		sw_jw w = SW_JW_INIT(&evb);
		char *ev;
		if ((f.path && strncmp(f.path, "/.part.", 7) == 0) || strcmp(f.id, "SW-INCOMPLETE") == 0)
			continue; /* a copy the tracer did not finish; an incomplete's (below) */
		sw_jw_obj(&w);
		sw_jw_kbool(&w, "executed", true);
		sw_jw_kstr(&w, "sha256", f.path ? f.path + 1 : "");
		sw_jw_kraw(&w, "static", f.evidence ? f.evidence : "{}");
		sw_jw_end(&w);
		if (sw_jw_done(&w) < 0 || !(ev = sw_buf_detach(&evb, NULL))) {
			sw_buf_release(&evb);
			rc = SW_ENOMEM;
			break;
		}
		f.path = p;
		f.layer = -1;
		f.layer_digest = NULL;
		f.created_by = NULL;
		f.in_final_fs = true; /* it was there to run */
		f.evidence = ev;
		rc = sw_report__add(r, &f);
		if (rc == 0 && p && f.category && strcmp(f.category, "miner") == 0 && f.severity >= SW_SEV_HIGH) {
			sw_finding run = f;
			char *t = sw__asprintf("A miner ran in the sandbox: %s (%s)", p, f.id);
			run.id = "SW-DYN-MINER-RUN";
			run.severity = SW_SEV_CRITICAL;
			run.detector = "sandbox";
			run.title = t ? t : "A miner ran in the sandbox";
			rc = sw_report__add(r, &run);
			free(t);
		}
		free(ev);
		if (rc < 0)
			break;
	}
	for (i = 0; i < sw_report_incomplete_count(sr) && rc >= 0; i++) {
		const sw_incomplete *c = sw_report_incomplete(sr, i);
		const char *p = c->path && c->path[0] == '/' ? exec_path_of(g, c->path + 1) : NULL;
		rc = sw_judge_incomplete(g->j, p ? p : c->path, c->reason);
	}
	if (!r->ruleset && sw_report_ruleset(sr))
		r->ruleset = sw__strdup(sw_report_ruleset(sr));
	sw_report_free(sr);
	sw_image_free(img);
	return rc < 0 ? sw_error_set(err, SW_ENOMEM, "out of memory") : 0;
}

static unsigned cpus_allowed(void);

/* ---- cgroup v2 limits, where we may make a child group ---- */

static int put(const char *dir, const char *file, const char *text)
{
	char path[4400];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	/* O_CREAT: a no-op on cgroupfs, where the files exist or cannot be made */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return -1;
	rc = sw_write_all(fd, text, strlen(text));
	close(fd);
	return rc;
}

/* A child of our own cgroup (unified hierarchy only) with memory.max,
 * memory.swap.max, pids.max and, when asked, cpu.max; the supervisor goes
 * in, and everything it starts with it. 0 and the group's path in out, or
 * -1 where there is no delegated cgroup v2 (then limits are sampled). */
static int cgroup_setup(pid_t m, uint64_t memory, unsigned procs, unsigned cpus, char *out, size_t n)
{
	char line[4096], self[4200], sc[4300], num[64], ctl[256] = "";
	FILE *f;
	int fd;
	ssize_t r;

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0 || !(f = fopen("/proc/self/cgroup", "re")))
		return -1;
	self[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			snprintf(self, sizeof(self), "/sys/fs/cgroup%s", strcmp(line + 3, "/") ? line + 3 : "");
		}
	fclose(f);
	if (!self[0])
		return -1;
	snprintf(sc, sizeof(sc), "%s/cgroup.subtree_control", self);
	if ((fd = open(sc, O_RDONLY | O_CLOEXEC)) >= 0) {
		r = read(fd, ctl, sizeof(ctl) - 1);
		ctl[r > 0 ? r : 0] = 0;
		close(fd);
	}
	if ((!strstr(ctl, "memory") || !strstr(ctl, "pids")) &&
	    put(self, "cgroup.subtree_control", cpus ? "+memory +pids +cpu" : "+memory +pids") < 0)
		return -1; /* not delegated to us, or we hold processes there */
	snprintf(out, n, "%s/stowaway-detonate-%d", self, (int)m);
	if (mkdir(out, 0755) < 0)
		return -1;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)memory);
	if (put(out, "memory.max", num) < 0)
		goto fail;
	(void)put(out, "memory.swap.max", "0");
	snprintf(num, sizeof(num), "%u", procs);
	if (put(out, "pids.max", num) < 0)
		goto fail;
	snprintf(num, sizeof(num), "%u 100000", cpus * 100000);
	if (cpus && put(out, "cpu.max", num) < 0)
		goto fail;
	snprintf(num, sizeof(num), "%d", (int)m);
	if (put(out, "cgroup.procs", num) < 0)
		goto fail;
	return 0;
fail:
	rmdir(out);
	out[0] = 0;
	return -1;
}

/* ---- cgroup v1, as root on a host without the unified hierarchy ---- */

/* Our own group in v1 hierarchy ctl (mounted at /sys/fs/cgroup/<ctl>),
 * from /proc/self/cgroup ("N:controllers:path"). 0, or -1 when there is
 * none. */
static int v1_self(const char *ctl, char *out, size_t n)
{
	char line[4096], probe[4400];
	size_t l = strlen(ctl);
	FILE *f = fopen("/proc/self/cgroup", "re");
	bool found = false;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL, *k;
		if (!p)
			continue;
		*p++ = 0;
		p[strcspn(p, "\n")] = 0;
		for (k = c + 1; k && *k; k = strchr(k, ',') ? strchr(k, ',') + 1 : NULL)
			if (strncmp(k, ctl, l) == 0 && (k[l] == ',' || k[l] == 0)) {
				snprintf(out, n, "/sys/fs/cgroup/%s%s", ctl, strcmp(p, "/") ? p : "");
				found = true;
				break;
			}
	}
	fclose(f);
	snprintf(probe, sizeof(probe), "%s/cgroup.procs", out);
	return found && access(probe, W_OK) == 0 ? 0 : -1;
}

/* A child of our v1 group of ctl, named for the supervisor m, with the
 * files in set (name, value pairs) written and m put in. 0 and its path
 * in out, or -1 (nothing left behind). */
static int v1_group(const char *ctl, pid_t m, const char *const *set, size_t nset, char *out, size_t n)
{
	char self[4200], num[32];
	size_t i;

	out[0] = 0;
	if (v1_self(ctl, self, sizeof(self)) < 0)
		return -1;
	snprintf(out, n, "%s/stowaway-detonate-%d", self, (int)m);
	if (mkdir(out, 0755) < 0) {
		out[0] = 0;
		return -1;
	}
	for (i = 0; i + 1 < nset; i += 2)
		if (set[i + 1] && put(out, set[i], set[i + 1]) < 0)
			goto fail;
	snprintf(num, sizeof(num), "%d", (int)m);
	if (put(out, "cgroup.procs", num) == 0)
		return 0;
fail:
	rmdir(out);
	out[0] = 0;
	return -1;
}

/* As root where v2 is not delegated: v1's memory controller, whose
 * memory.limit_in_bytes counts the kernel memory a group's processes make
 * the kernel hold (unix socket and pipe buffers among it) as well as their
 * pages; memory.memsw.limit_in_bytes the same, where swap is accounted,
 * so that nothing goes to swap; memory.kmem.tcp.limit_in_bytes, without
 * which v1 does not count TCP buffers; and pids.max where the pids
 * hierarchy is there. 0 with the groups' paths (pids may be empty), or
 * -1. */
static int cgroup_v1_setup(pid_t m, uint64_t memory, unsigned procs, char *mem, char *pids, size_t n, bool *memsw,
			   bool *tcp)
{
	char lim[32], np[32];
	const char *mset[] = { "memory.limit_in_bytes", lim };
	const char *pset[] = { "pids.max", np };

	if (geteuid() != 0)
		return -1;
	snprintf(lim, sizeof(lim), "%llu", (unsigned long long)memory);
	snprintf(np, sizeof(np), "%u", procs);
	if (v1_group("memory", m, mset, 2, mem, n) < 0)
		return -1;
	*memsw = put(mem, "memory.memsw.limit_in_bytes", lim) == 0; /* where swap is accounted */
	*tcp = put(mem, "memory.kmem.tcp.limit_in_bytes", lim) == 0; /* v1 counts TCP buffers once this is set */
	(void)v1_group("pids", m, pset, 2, pids, n);
	return 0;
}

/* OOM kills counted, after the run: "oom_kill N" in v2's memory.events
 * and in v1's memory.oom_control. */
static long cgroup_oom_kills(const char *dir, bool v1)
{
	char path[4400], buf[1024], *p;
	int fd;
	ssize_t r;

	snprintf(path, sizeof(path), "%s/%s", dir, v1 ? "memory.oom_control" : "memory.events");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[r > 0 ? r : 0] = 0;
	return (p = strstr(buf, "oom_kill ")) ? strtol(p + 9, NULL, 10) : 0;
}

/* ---- the run ---- */

static int write_map(pid_t pid, const char *file, const char *text)
{
	char path[64];
	int fd, rc;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	rc = sw_write_all(fd, text, strlen(text));
	close(fd);
	return rc;
}

static unsigned cpus_allowed(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	return (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
}

/* What the run left unseen, each an incomplete with its SW-INCOMPLETE
 * finding: events judged but not in the timeline, lines that were no
 * event, and a missing summary (the supervisor died or was killed: how
 * the run ended, and whatever came after the last event read, is not
 * known). read_rc and status: read_events' and the supervisor's. */
static int run_incompletes(runlog *g, int read_rc, int status)
{
	char why[400], how[96];
	int rc = 0;

	if (g->unrecorded) {
		snprintf(why, sizeof(why), "sandbox: %llu of %llu events were judged but not recorded: the timeline "
			 "keeps the first %d events or %u MiB of them", (unsigned long long)g->unrecorded,
			 (unsigned long long)g->lines, TIMELINE_EVENTS, TIMELINE_BYTES >> 20);
		rc = sw_judge_incomplete(g->j, NULL, why);
	}
	if (rc == 0 && g->unreadable) {
		snprintf(why, sizeof(why), "sandbox: %llu event lines could not be read (cut short, or over %u KiB): "
			 "not judged", (unsigned long long)g->unreadable, SW_EV_LINE_MAX >> 10);
		rc = sw_judge_incomplete(g->j, NULL, why);
	}
	if (rc == 0 && g->oversized) {
		snprintf(why, sizeof(why), "sandbox: %llu events over %u KiB were recorded by kind and size only: not "
			 "judged", (unsigned long long)g->oversized, SW_EV_LINE_MAX >> 10);
		rc = sw_judge_incomplete(g->j, NULL, why);
	}
	if (rc == 0 && !g->summary) {
		if (read_rc == -1)
			snprintf(how, sizeof(how), "the supervisor overran its deadline and was killed");
		else if (WIFSIGNALED(status))
			snprintf(how, sizeof(how), "the supervisor was killed by signal %d", WTERMSIG(status));
		else
			snprintf(how, sizeof(how), "the supervisor exited with status %d", WEXITSTATUS(status));
		snprintf(why, sizeof(why), "sandbox: no summary of the run (%s): how it ended, its figures and any "
			 "later events were not seen", how);
		rc = sw_judge_incomplete(g->j, NULL, why);
	} else if (rc == 0 && g->summary_events >= 0 && (uint64_t)g->summary_events != g->lines_before) {
		snprintf(why, sizeof(why), "sandbox: the supervisor wrote %lld events before its summary, %llu arrived",
			 (long long)g->summary_events, (unsigned long long)g->lines_before);
		rc = sw_judge_incomplete(g->j, NULL, why);
	}
	return rc;
}

/* One detonation, from the work directory to the report. */
typedef struct detonation {
	char work[4096], rootfs[4200], art[4200];
	sw_rootfs_stats st;
	sw_box_cmd cmd;
	sw_box_params bp;
	sw_buf desc;               /* the run's description: command, isolation, summary */
	sw_jw descw;
	runlog g;
	sw_report *r;
	int evp[2], sp[2], root, artfd, status, read_rc;
	bool is_root, have_cmd, have_cg, cg_v1, cg_memsw, cg_tcp; /* v1: which limits were written */
	uid_t hid;                 /* who the sandbox is on the host */
	gid_t hgid;
	pid_t m;                   /* the supervisor */
	uint64_t t0, t_run;
	char cg[4300];             /* its cgroup, when one is delegated to us (v1: memory) */
	char cg_pids[4300];        /* v1: its pids group, when there is one */
} detonation;

static void detonation_init(detonation *d)
{
	memset(d, 0, sizeof(*d));
	d->desc = (sw_buf)SW_BUF_INIT(1 << 20);
	d->descw = (sw_jw)SW_JW_INIT(&d->desc);
	d->g.line = (sw_buf)SW_BUF_INIT(1 << 16);
	d->g.summary_events = -1;
	d->evp[0] = d->evp[1] = d->sp[0] = d->sp[1] = -1;
	d->root = d->artfd = -1;
	d->is_root = geteuid() == 0;
	d->hid = d->is_root ? SANDBOX_ROOT_ID : geteuid();
	d->hgid = d->is_root ? SANDBOX_ROOT_ID : getegid();
	d->m = -1;
	d->t0 = sw_sbx_now();
}

/* The work directory (under --keep, $TMPDIR or /tmp) and the names in it. */
static int make_workdir(detonation *d, const sw_detonate_opts *o, sw_error *err)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(d->work, sizeof(d->work), "%s/stowaway-detonate.XXXXXX", o->keep ? o->keep : tmp && *tmp ? tmp : "/tmp");
	if (o->keep && mkdir(o->keep, 0755) < 0 && errno != EEXIST)
		return sw_error_set(err, SW_EIO, "--keep %s: %s", o->keep, strerror(errno));
	if (!mkdtemp(d->work))
		return sw_error_set(err, SW_EIO, "%s: cannot make a work directory: %s", d->work, strerror(errno));
	snprintf(d->rootfs, sizeof(d->rootfs), "%s/" SW_BOX_ROOT_NAME, d->work);
	snprintf(d->art, sizeof(d->art), "%s/executed", d->work);
	return 0;
}

/* The root filesystem assembled, the command resolved (described in
 * desc), the work directory given to the sandbox's id (as root), the
 * event pipe and the id maps' channel made. */
static int prepare_sandbox(detonation *d, const sw_image *img, const sw_detonate_opts *o, sw_error *err)
{
	int rc;

	if (mkdir(d->art, 0700) < 0)
		return sw_error_set(err, SW_EIO, "%s: %s", d->art, strerror(errno));
	{
		sw_rootfs_opts ro = o->rootfs;
		ro.id_base = d->is_root ? (int64_t)SANDBOX_ROOT_ID : -1; /* image ownership, shifted */
		if ((rc = sw_rootfs_assemble(img, d->rootfs, &ro, &d->st, err)) < 0)
			return rc;
	}
	if ((d->root = open(d->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sw_error_set(err, SW_EIO, "%s: %s", d->rootfs, strerror(errno));
	sw_jw_obj(&d->descw);
	if ((rc = resolve_cmd(img, o, d->root, &d->cmd, &d->descw, err)) < 0)
		return rc;
	d->have_cmd = true;
	if (d->is_root && (chown(d->work, d->hid, d->hgid) < 0 || chown(d->rootfs, d->hid, d->hgid) < 0 ||
			   chown(d->art, d->hid, d->hgid) < 0))
		return sw_error_set(err, SW_EIO, "%s: cannot give the root filesystem to the sandbox's id: %s",
				    d->work, strerror(errno));
	if ((d->artfd = open(d->art, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || pipe2(d->evp, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, d->sp) < 0)
		return sw_error_set(err, SW_EIO, "sandbox set-up: %s", strerror(errno));
	return 0;
}

/* The descriptors the sandbox may hold in all, for a memory limit: what
 * bounds its pipe buffers where no cgroup counts them (no sample sees
 * them). An unprivileged process's pipes get up to 1 MiB each while its
 * user holds less than fs.pipe-user-pages-soft (16384 pages, 64 MiB, by
 * default), and 2 pages each past it: pipes hold at most that plus 8 KiB
 * a pipe, 4 KiB a descriptor. Half of what the limit leaves past the soft
 * limit goes to descriptors; at least 1024, at most 2^20. */
static uint64_t descriptors_for(uint64_t memory)
{
	uint64_t room = memory > (64ull << 20) ? memory - (64ull << 20) : 0, d = room / 4096 / 2;

	return d < 1024 ? 1024 : d > (1u << 20) ? 1u << 20 : d;
}

/* What the supervisor is given: the root, the command, the bounds. */
static void box_params(detonation *d, const sw_detonate_opts *o)
{
	sw_box_params *bp = &d->bp;

	memset(bp, 0, sizeof(*bp));
	bp->rootfs_fd = d->root;
	bp->artifacts_dir = d->artfd;
	bp->cmd = &d->cmd;
	bp->timeout = o->timeout ? o->timeout : 30;
	bp->memory = o->memory ? o->memory : 1ull << 30;
	bp->max_fds = descriptors_for(bp->memory);
	bp->max_procs = o->max_procs ? o->max_procs : 256;
	bp->max_artifact = o->max_artifact ? o->max_artifact : 64ull << 20;
	bp->max_disk = o->max_disk ? o->max_disk : 4ull << 30;
	bp->max_inodes = o->max_inodes ? o->max_inodes : 100000;
	{
		unsigned allowed = cpus_allowed();
		bp->cpus = o->cpus && o->cpus < allowed ? o->cpus : allowed;
	}
	bp->events_fd = d->evp[1];
	bp->sync_fd = d->sp[1];
	bp->id_range = d->is_root;
}

/* The supervisor has its user namespace: give it one id, ours (or, as
 * root, one no account uses). */
static void write_id_maps(detonation *d)
{
	struct pollfd pf = { d->sp[0], POLLIN, 0 };
	char map[64], c;

	if (poll(&pf, 1, 20000) == 1 && read(d->sp[0], &c, 1) == 1 && c == 'u') {
		snprintf(map, sizeof(map), "0 %u %u\n", (unsigned)d->hid, d->is_root ? 65536u : 1u);
		/* setgroups stays allowed only with a whole id range (root) */
		if ((d->is_root || write_map(d->m, "setgroups", "deny") == 0) && write_map(d->m, "uid_map", map) == 0) {
			snprintf(map, sizeof(map), "0 %u %u\n", (unsigned)d->hgid, d->is_root ? 65536u : 1u);
			if (write_map(d->m, "gid_map", map) == 0)
				(void)!write(d->sp[0], "m", 1);
		}
	}
	close(d->sp[0]);
	d->sp[0] = -1;
}

/* The report (it exists before the run: events are judged as they come),
 * then the supervisor forked, put in a cgroup where one is delegated to
 * us (hard limits; else they are sampled), and given its id maps. */
static int start_run(detonation *d, const sw_image *img, const sw_detonate_opts *o, sw_error *err)
{
	int rc;

	if ((rc = sw_report__new(&d->r, img, err)) < 0)
		return rc;
	if (sw_judge_new(&d->g.j, d->r, cpus_allowed()) < 0)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	d->g.r = d->r;
	fflush(NULL);
	d->t_run = sw_sbx_now(); /* the supervisor's budget starts now, not with the rootfs */
	if ((d->m = fork()) < 0)
		return sw_error_set(err, SW_ERROR, "fork: %s", strerror(errno));
	if (d->m == 0) {
		close(d->evp[0]);
		close(d->sp[0]);
		sw_box_supervise(&d->bp);
	}
	close(d->evp[1]);
	close(d->sp[1]);
	d->evp[1] = d->sp[1] = -1;
	d->have_cg = cgroup_setup(d->m, d->bp.memory, d->bp.max_procs, o->cpus, d->cg, sizeof(d->cg)) == 0;
	if (!d->have_cg)
		d->have_cg = d->cg_v1 = cgroup_v1_setup(d->m, d->bp.memory, d->bp.max_procs, d->cg, d->cg_pids,
							sizeof(d->cg), &d->cg_memsw, &d->cg_tcp) == 0;
	write_id_maps(d);
	return 0;
}

/* The events read until the supervisor ends (or overruns its deadline),
 * the supervisor reaped, the cgroup's OOM kills added as a limit event;
 * a set-up failure (an "error" event) is the run's error. */
static int finish_run(detonation *d, sw_error *err)
{
	d->read_rc = read_events(d->evp[0], d->m, d->t_run + ((uint64_t)d->bp.timeout + 60) * 1000000000ull, &d->g);
	while (waitpid(d->m, &d->status, 0) < 0 && errno == EINTR)
		;
	d->m = -1;
	if (d->read_rc == -2)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if (d->have_cg) {
		long oom = cgroup_oom_kills(d->cg, d->cg_v1);
		(void)rmdir(d->cg); /* empty now: the sandbox's processes are gone */
		if (d->cg_pids[0])
			(void)rmdir(d->cg_pids);
		/* the supervisor saw it, unless it came after its last sample */
		if (oom > 0 && !(d->g.summary && strstr(d->g.summary, "\"memory_killed\":true"))) {
			sw_buf ev = SW_BUF_INIT(256);
			sw_jw w = SW_JW_INIT(&ev);
			int orc;
			sw_jw_obj(&w);
			sw_jw_key(&w, "t");
			sw_jw_real(&w, (double)(sw_sbx_now() - d->t0) / 1e9, 3);
			sw_jw_kstr(&w, "kind", "limit");
			sw_jw_kstr(&w, "limit", "memory");
			sw_jw_kint(&w, "oom_kills", oom);
			sw_jw_kuint(&w, "max", d->bp.memory);
			sw_jw_end(&w);
			orc = sw_jw_done(&w) < 0 ? SW_ENOMEM : on_line(&d->g, sw_buf_cstr(&ev), ev.len);
			sw_buf_release(&ev);
			if (orc < 0)
				return sw_error_set(err, SW_ENOMEM, "out of memory");
		}
	}
	if (d->g.err_what)
		return sw_error_set(err, SW_ERROR, "sandbox: %s: %s", d->g.err_what, d->g.err_reason);
	return 0;
}

/* Which limits held the sandbox's memory, and how: the kernel's (a
 * cgroup counts pages and kernel memory both: socket and pipe buffers),
 * and the supervisor's samples, which always run (pages, Shmem, the unix
 * socket buffers of the sandbox's network namespace, the descriptors
 * open, which bound its pipe buffers). */
static void describe_memory(detonation *d)
{
	sw_jw *w = &d->descw;

	sw_jw_kobj(w, "memory");
	sw_jw_kuint(w, "limit", d->bp.memory);
	sw_jw_karr(w, "enforced_by");
	if (d->have_cg && !d->cg_v1)
		sw_jw_str(w, "cgroup v2: memory.max (pages and kernel memory, socket and pipe buffers among it)");
	if (d->cg_v1)
		sw_jw_str(w, "cgroup v1 memory controller: memory.limit_in_bytes (pages and kernel memory, unix socket "
			     "and pipe buffers among it)");
	if (d->cg_v1 && d->cg_memsw)
		sw_jw_str(w, "cgroup v1: memory.memsw.limit_in_bytes (no swap past the limit)");
	if (d->cg_v1 && d->cg_tcp)
		sw_jw_str(w, "cgroup v1: memory.kmem.tcp.limit_in_bytes (TCP buffers)");
	sw_jw_str(w, "sampled every 100 ms: resident pages, Shmem; every 40 ms: socket buffers, unix, TCP and UDP "
		     "(sock_diag in the sandbox's network namespace)");
	sw_jw_end(w);
	sw_jw_kobj(w, "descriptors");
	sw_jw_kuint(w, "per_process", SANDBOX_NOFILE);
	sw_jw_kuint(w, "total", d->bp.max_fds);
	sw_jw_kstr(w, "how", "RLIMIT_NOFILE; the total sampled every 40 ms: past it the sandbox is killed");
	sw_jw_end(w);
	sw_jw_kstr(w, "pipes", d->have_cg ? "counted by the cgroup" :
		   "not sampled: at most fs.pipe-user-pages-soft (no CAP_SYS_RESOURCE in the sandbox) and 8 KiB a "
		   "pipe past it, pipes bounded by the descriptors");
	sw_jw_end(w);
}

/* The isolation the run had, and its summary event, in the description. */
static void describe_isolation(detonation *d)
{
	static const char *const ns[] = { "user", "mount", "pid", "network", "ipc", "uts", "cgroup" };
	sw_jw *w = &d->descw;
	size_t i;

	sw_jw_kobj(w, "isolation");
	sw_jw_karr(w, "namespaces");
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		sw_jw_str(w, ns[i]);
	sw_jw_end(w);
	sw_jw_kbool(w, "pivot_root", true);
	sw_jw_karr(w, "capabilities");
	sw_jw_end(w);
	sw_jw_kbool(w, "no_new_privs", true);
	sw_jw_kstr(w, "seccomp", "user-notification");
	sw_jw_kstr(w, "network", "sinkhole");
	sw_jw_kuint(w, "host_id", (unsigned)d->hid);
	sw_jw_kuint(w, "ids", d->is_root ? 65536u : 1u);
	sw_jw_kobj(w, "rlimits");
	sw_jw_kuint(w, "nproc", d->bp.max_procs);
	sw_jw_kuint(w, "nofile", SANDBOX_NOFILE);
	sw_jw_kuint(w, "fsize", 1073741824);
	sw_jw_kuint(w, "core", 0);
	sw_jw_end(w);
	sw_jw_kuint(w, "memory_limit", d->bp.memory);
	sw_jw_kuint(w, "timeout", d->bp.timeout);
	sw_jw_kstr(w, "cgroup", !d->have_cg ? "none: memory sampled, processes by rlimit" :
		   d->cg_v1 ? (d->cg_pids[0] ? "v1: memory.limit_in_bytes, pids.max" : "v1: memory.limit_in_bytes") :
		   "v2: memory.max, pids.max, cpu.max");
	describe_memory(d);
	sw_jw_end(w);
	sw_jw_kraw(w, "run", d->g.summary);
}

/* The report finished: the run described (the run's summary joins what
 * main knows: the command and the isolation layers), what the run left
 * unseen, the executed files' static findings, the judge's last word. */
static int finish_report(detonation *d, const sw_detonate_opts *o, sw_error *err)
{
	int rc;

	if (d->g.summary)
		describe_isolation(d);
	sw_jw_end(&d->descw);
	if (sw_jw_done(&d->descw) < 0 || !(d->r->dynamic = sw__strndup(d->desc.data, d->desc.len)) ||
	    run_incompletes(&d->g, d->read_rc, d->status) < 0)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if ((rc = scan_executed(d->art, o, &d->g, err)) < 0)
		return rc;
	if (sw_judge_end(d->g.j, (double)(sw_sbx_now() - d->t0) / 1e9) < 0)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	d->r->seconds = (double)(sw_sbx_now() - d->t0) / 1e9;
	sw_report__sort(d->r);
	return 0;
}

static void detonation_release(detonation *d, const sw_detonate_opts *o)
{
	size_t i;

	if (d->m > 0) {
		kill(d->m, SIGKILL);
		waitpid(d->m, NULL, 0);
	}
	if (d->have_cg && d->m > 0) {
		(void)rmdir(d->cg);
		if (d->cg_pids[0])
			(void)rmdir(d->cg_pids);
	}
	for (i = 0; i < 2; i++) {
		if (d->evp[i] >= 0)
			close(d->evp[i]);
		if (d->sp[i] >= 0)
			close(d->sp[i]);
	}
	if (d->root >= 0)
		close(d->root);
	if (d->artfd >= 0)
		close(d->artfd);
	if (d->have_cmd)
		cmd_free(&d->cmd);
	runlog_release(&d->g);
	sw_buf_release(&d->desc);
	sw_report_free(d->r);
	if (!o->keep)
		(void)tree_at(AT_FDCWD, d->work, 0, true, 0, 0);
}

int sw_detonate(const sw_image *img, const sw_detonate_opts *o, sw_report **out, sw_error *err)
{
	detonation d;
	int rc;

	detonation_init(&d);
	*out = NULL;
	if ((rc = make_workdir(&d, o, err)) < 0)
		return rc;
	if ((rc = prepare_sandbox(&d, img, o, err)) < 0)
		goto out;
	box_params(&d, o);
	if ((rc = start_run(&d, img, o, err)) < 0 || (rc = finish_run(&d, err)) < 0 ||
	    (rc = finish_report(&d, o, err)) < 0)
		goto out;
	*out = d.r;
	d.r = NULL;
	rc = 0;
out:
	detonation_release(&d, o);
	return rc;
}

int sw_report_merge(sw_report *into, const sw_report *dynamic, sw_error *err)
{
	if (sw_report__merge(into, dynamic) < 0)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	return 0;
}
