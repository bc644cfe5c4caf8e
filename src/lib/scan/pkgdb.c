/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which installed package put a flagged file there. A file that no package
 * lists, in an image whose package database lists thousands, was put
 * there by hand; one a package lists came with that package (which does
 * not make it harmless: a package can be the payload, and a file can be
 * replaced after it was installed). Either way it is what a person
 * deciding about the image asks next.
 *
 * The engine keeps the databases' bytes as it keeps start-up scripts
 * (scan_layer.c; so the layer cache holds them too): dpkg's status and
 * info/NAME.list, distroless's status.d/NAME and NAME.md5sums, and apk's
 * installed. Here, after the merge, the copies still in the final
 * filesystem are read into one sorted table of (path, package), and every
 * finding on a file gets evidence "package": {manager, name, version,
 * architecture}, or name null when the image has a database that lists no
 * such file. Merged /usr is looked through: dpkg lists /bin/bash, the
 * image holds /usr/bin/bash.
 */
#include <stdlib.h>
#include <string.h>

#include "scan_int.h"
#include "../report/report_int.h"
#include "../util/banned.h"

typedef struct pkg {
	const char *manager, *name, *version, *arch;
	size_t nlen;
} pkg;

typedef struct owner {
	char *path;              /* absolute, NUL-terminated (in a copy of the database) */
	size_t pkg;
} owner;

typedef struct pkgdb {
	pkg *p;
	size_t np;
	owner *o;
	size_t no;
	char **texts;            /* the databases' copies the entries point into */
	size_t ntexts;
	const char *manager;     /* the first database read: a file none lists is "not from it" */
} pkgdb;

#define DPKG_INFO "/var/lib/dpkg/info/"
#define DPKG_STATUS_D "/var/lib/dpkg/status.d/"

bool sw_scan__is_pkgdb(const char *path)
{
	size_t n = strlen(path);

	if (!strcmp(path, "/var/lib/dpkg/status") || !strcmp(path, "/lib/apk/db/installed"))
		return true;
	if (!strncmp(path, DPKG_INFO, strlen(DPKG_INFO)))
		return n > strlen(DPKG_INFO) + 5 && !strcmp(path + n - 5, ".list") && !strchr(path + strlen(DPKG_INFO), '/');
	return !strncmp(path, DPKG_STATUS_D, strlen(DPKG_STATUS_D)) && n > strlen(DPKG_STATUS_D) &&
	       !strchr(path + strlen(DPKG_STATUS_D), '/');
}

static void db_release(pkgdb *db)
{
	size_t i;

	for (i = 0; i < db->ntexts; i++)
		free(db->texts[i]);
	free(db->texts);
	free(db->p);
	free(db->o);
}

/* The package called name (n bytes; ":arch" ignored) of manager, made
 * when new. Index in *out. */
static int db_pkg(pkgdb *db, const char *manager, const char *name, size_t n, size_t *out)
{
	const char *colon = memchr(name, ':', n);
	size_t i;

	if (colon)
		n = (size_t)(colon - name);
	for (i = 0; i < db->np; i++)
		if (db->p[i].manager == manager && db->p[i].nlen == n && !strncmp(db->p[i].name, name, n)) {
			*out = i;
			return 0;
		}
	if (SW_GROW(db->p, db->np) < 0)
		return SW_ENOMEM;
	memset(&db->p[db->np], 0, sizeof(db->p[db->np]));
	db->p[db->np].manager = manager;
	db->p[db->np].name = name;
	db->p[db->np].nlen = n;
	if (!db->manager)
		db->manager = manager;
	*out = db->np++;
	return 0;
}

static int db_owner(pkgdb *db, char *path, size_t pk)
{
	if (path[0] != '/' || !path[1])
		return 0; /* "/." and relative junk */
	if (SW_GROW(db->o, db->no) < 0)
		return SW_ENOMEM;
	db->o[db->no].path = path;
	db->o[db->no].pkg = pk;
	db->no++;
	return 0;
}

/* A copy of the database's bytes, NUL-terminated, kept until the end. */
static char *db_text(pkgdb *db, const uint8_t *data, size_t len)
{
	char *t;

	if (SW_GROW(db->texts, db->ntexts) < 0 || !(t = malloc(len + 1)))
		return NULL;
	if (len) /* an empty database file may come with no buffer at all */
		memcpy(t, data, len);
	t[len] = '\0';
	db->texts[db->ntexts++] = t;
	return t;
}

/* The next line of *p (cut at '\n', which becomes NUL); NULL at the end. */
static char *next_line(char **p)
{
	char *l = *p, *nl;

	if (!l || !*l)
		return NULL;
	if ((nl = strchr(l, '\n'))) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = l + strlen(l);
	}
	return l;
}

static const char *field(const char *line, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(line, name, n) ? line + n + (line[n] == ' ') : NULL;
}

/* Control paragraphs (dpkg's status, a status.d file): packages installed
 * with their version and architecture. */
static int read_control(pkgdb *db, char *text, bool need_status)
{
	const char *name = NULL, *version = NULL, *arch = NULL, *v;
	bool installed = !need_status;
	char *l, *p = text;
	size_t k;
	int rc;

	for (;;) {
		l = next_line(&p);
		if (!l || !*l) { /* a paragraph ends */
			if (name && installed) {
				if ((rc = db_pkg(db, "dpkg", name, strlen(name), &k)) < 0)
					return rc;
				db->p[k].version = version;
				db->p[k].arch = arch;
			}
			if (!l)
				return 0;
			name = version = arch = NULL;
			installed = !need_status;
			continue;
		}
		if ((v = field(l, "Package:")))
			name = v;
		else if ((v = field(l, "Version:")))
			version = v;
		else if ((v = field(l, "Architecture:")))
			arch = v;
		else if ((v = field(l, "Status:")))
			installed = strstr(v, " installed") != NULL;
	}
}

/* Path lists: a line per path (info/NAME.list), or "md5  relative/path"
 * (status.d/NAME.md5sums), owned by the package named in the file name. */
static int read_list(pkgdb *db, char *text, const char *name, size_t nlen, bool md5sums)
{
	char *l, *p = text, *sp;
	size_t k;
	int rc;

	if ((rc = db_pkg(db, "dpkg", name, nlen, &k)) < 0)
		return rc;
	while ((l = next_line(&p))) {
		if (md5sums) {
			if (!(sp = strstr(l, "  ")) || sp[2] == '\0')
				continue;
			l = sp + 1; /* "md5 /path": the second blank becomes the root */
			*l = '/';
		}
		if ((rc = db_owner(db, l, k)) < 0)
			return rc;
	}
	return 0;
}

/* apk's installed: paragraphs of P: name, V: version, A: arch, F: folder
 * and R: file (under the last F). */
static int read_apk(pkgdb *db, char *text)
{
	char *l, *p = text, *folder = NULL, *path;
	size_t k = 0;
	bool have = false;
	int rc;

	while ((l = next_line(&p))) {
		if (!*l) {
			have = false;
			folder = NULL;
		} else if (l[0] == 'P' && l[1] == ':') {
			if ((rc = db_pkg(db, "apk", l + 2, strlen(l + 2), &k)) < 0)
				return rc;
			have = true;
		} else if (have && l[0] == 'V' && l[1] == ':') {
			db->p[k].version = l + 2;
		} else if (have && l[0] == 'A' && l[1] == ':') {
			db->p[k].arch = l + 2;
		} else if (l[0] == 'F' && l[1] == ':') {
			folder = l + 2;
		} else if (have && l[0] == 'R' && l[1] == ':') {
			if (!(path = sw__asprintf("/%s%s%s", folder ? folder : "", folder && *folder ? "/" : "", l + 2)))
				return SW_ENOMEM;
			if (SW_GROW(db->texts, db->ntexts) < 0) {
				free(path);
				return SW_ENOMEM;
			}
			db->texts[db->ntexts++] = path;
			if ((rc = db_owner(db, path, k)) < 0)
				return rc;
		}
	}
	return 0;
}

static int read_db(pkgdb *db, const char *path, const uint8_t *data, size_t len)
{
	const char *base = strrchr(path, '/') + 1;
	size_t n = strlen(base);
	char *t = db_text(db, data, len);

	if (!t)
		return SW_ENOMEM;
	if (!strcmp(path, "/var/lib/dpkg/status"))
		return read_control(db, t, true);
	if (!strcmp(path, "/lib/apk/db/installed"))
		return read_apk(db, t);
	if (!strncmp(path, DPKG_INFO, strlen(DPKG_INFO)))
		return read_list(db, t, base, n - 5, false);
	if (n > 8 && !strcmp(base + n - 8, ".md5sums"))
		return read_list(db, t, base, n - 8, true);
	return read_control(db, t, false); /* status.d/NAME */
}

static int cmp_owner(const void *a, const void *b)
{
	return strcmp(((const owner *)a)->path, ((const owner *)b)->path);
}

static const owner *lookup(const pkgdb *db, const char *path)
{
	owner key = { (char *)path, 0 };

	if (!db->no) /* bsearch takes no NULL array, even of nothing */
		return NULL;
	return bsearch(&key, db->o, db->no, sizeof(*db->o), cmp_owner);
}

/* The owner of path, looking through merged /usr (/usr/bin/x is /bin/x to
 * a package that predates it) and into the outer file of "outer!inner". */
static const owner *owner_of(const pkgdb *db, const char *path)
{
	static const char *const merged[] = { "/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib32/", "/usr/lib64/",
					      "/usr/libx32/" };
	char outer[4096];
	const char *bang = strchr(path, '!');
	const owner *o;
	size_t i;

	snprintf(outer, sizeof(outer), "%.*s", bang ? (int)(bang - path) : (int)strlen(path), path);
	if ((o = lookup(db, outer)))
		return o;
	for (i = 0; i < sizeof(merged) / sizeof(merged[0]); i++)
		if (!strncmp(outer, merged[i], strlen(merged[i])))
			return lookup(db, outer + 4);
	return NULL;
}

static int note(sw_finding *f, const pkgdb *db)
{
	const owner *o = owner_of(db, f->path);
	const pkg *p = o ? &db->p[o->pkg] : NULL;
	sw_buf b = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&b);
	int rc;

	sw_jw_obj(&w);
	sw_jw_kstr(&w, "manager", p ? p->manager : db->manager);
	sw_jw_key(&w, "name");
	if (p)
		sw_jw_strn(&w, p->name, p->nlen);
	else
		sw_jw_null(&w);
	if (p && p->version)
		sw_jw_kstr(&w, "version", p->version);
	if (p && p->arch)
		sw_jw_kstr(&w, "architecture", p->arch);
	sw_jw_end(&w);
	rc = sw_jw_done(&w);
	if (rc == 0)
		rc = sw_report__evidence_add(f, "package", sw_buf_cstr(&b));
	sw_buf_release(&b);
	return rc;
}

/* A finding about a file's content in a layer (not one that says a path
 * could not be read). */
static bool on_a_file(const sw_finding *f)
{
	return f->path && f->layer >= 0 && strcmp(f->category, "incomplete") != 0;
}

int sw_scan__provenance(scan *s, const sw_merge *m, sw_report *r)
{
	pkgdb db = { 0 };
	size_t l, k, i;
	int rc = 0;

	for (i = 0; i < r->nf && !on_a_file(&r->f[i]); i++)
		;
	if (i == r->nf)
		return 0; /* no finding on a file: nothing to look up */
	for (l = 0; l < s->njobs && rc == 0; l++) {
		const job *j = &s->jobs[l];
		for (k = 0; k < j->nkept && rc == 0; k++) {
			const char *path = sw_scan__job_path(j, j->kept[k].rec);
			if (sw_scan__is_pkgdb(path) && sw_merge_live(m, l, j->kept[k].rec))
				rc = read_db(&db, path, j->kept[k].data, j->kept[k].len);
		}
	}
	if (rc == 0 && db.manager) {
		if (db.no) /* qsort takes no NULL array, even of nothing */
			qsort(db.o, db.no, sizeof(*db.o), cmp_owner);
		for (i = 0; i < r->nf && rc == 0; i++)
			if (on_a_file(&r->f[i]))
				rc = note(&r->f[i], &db);
	}
	db_release(&db);
	return rc;
}
