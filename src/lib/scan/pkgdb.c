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
 *
 * dpkg also records each file's MD5 (info/NAME.md5sums), apk its SHA-1
 * (Z:Q1..., base64). The engine computes both for the files with findings
 * (evidence "md5", "sha1") and for every ELF in /bin, /sbin, /usr/bin and
 * /usr/sbin (job.sums); here:
 *   - an ELF there that its package recorded with another digest is
 *     SW-PKG-MODIFIED, high: a replaced ps, ls or sshd is how a rootkit
 *     hides, and no rule sees it (files dpkg-divert moved aside excepted);
 *   - a finding's package evidence says "unmodified": true or false;
 *   - a heuristic finding (low or medium) on a file in a system directory
 *     that no package lists, in an image whose database lists files, is
 *     raised one step ("raised_unowned"): put there by hand;
 *   - a text-pattern finding (a YARA rule, not a miner or packer rule, on
 *     a file that is not ELF) on an unmodified file under /usr/share/ is
 *     lowered to low, saying so ("lowered_from"): nmap's NSE scripts, test
 *     suites, documentation. The database is the attacker's too, so this
 *     never touches hashes, miner rules, heuristics, executables' content,
 *     or files where a planted one would run (the lowering is confined to
 *     data a package reads, and its evidence keeps the original severity).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "scan_int.h"
#include "../report/report_int.h"
#include "../util/banned.h"

typedef struct pkg {
	const char *manager, *name, *version, *arch;
	size_t nlen;
} pkg;

/* The digests a database may record for a file: dpkg's MD5 (md5sums), apk's
 * SHA-1 (Z:Q1...), rpm's by the header's algorithm (SHA-256 mostly). */
enum { DG_MD5, DG_SHA1, DG_SHA256, NDG };
static const struct { const char *name, *recorded; size_t len; } dgs[NDG] = {
	{ "md5", "recorded_md5", SW_MD5_LEN }, { "sha1", "recorded_sha1", SW_SHA1_LEN },
	{ "sha256", "recorded_sha256", SW_SHA256_LEN },
};

typedef struct digest {
	uint8_t algo;            /* DG_* */
	uint8_t b[SW_SHA256_LEN];
} digest;

/* A file's own digests as the engine took them: d[algo], NULL when not. */
typedef struct fdigs {
	const uint8_t *d[NDG];
} fdigs;

typedef struct owner {
	char *path;              /* absolute, NUL-terminated (in a copy of the database) */
	uint32_t pkg;
	uint32_t dig;            /* 1 + its index in pkgdb.dg; 0: no digest recorded */
} owner;

typedef struct pkgdb {
	pkg *p;
	size_t np;
	owner *o;
	size_t no;
	char **texts;            /* the databases' copies the entries point into */
	size_t ntexts;
	digest *dg;              /* the digests owners point to (most lines record none) */
	size_t ndg;
	uint32_t *pidx;          /* hash index of p by (manager, name): 1 + index, 0 empty */
	size_t pcap;             /* its slots, a power of two, at least twice np */
	char **diverted;         /* dpkg-divert's sources, sorted: not the package's file any more */
	size_t ndiverted;
	const char *manager;     /* the first database read: a file none lists is "not from it" */
	bool partial;            /* a database only partly read (a bound, or not kept): an
				  * unlisted file may be listed in what was not read */
} pkgdb;

#define DPKG_INFO "/var/lib/dpkg/info/"
#define RPM_SQLITE "/var/lib/rpm/rpmdb.sqlite"
#define RPM_SQLITE_SYSIMAGE "/usr/lib/sysimage/rpm/rpmdb.sqlite"
#define RPM_MAX_PACKAGES 100000
#define RPM_MAX_FILES 1000000     /* in all the headers together (each an owner and a path) */
#define DPKG_STATUS_D "/var/lib/dpkg/status.d/"

bool sw_scan__is_pkgdb(const char *path)
{
	size_t n = strlen(path);

	if (!strcmp(path, "/var/lib/dpkg/status") || !strcmp(path, "/lib/apk/db/installed") ||
	    !strcmp(path, "/var/lib/dpkg/diversions") || !strcmp(path, RPM_SQLITE) || !strcmp(path, RPM_SQLITE_SYSIMAGE))
		return true;
	if (!strncmp(path, DPKG_INFO, strlen(DPKG_INFO)))
		return !strchr(path + strlen(DPKG_INFO), '/') &&
		       ((n > strlen(DPKG_INFO) + 5 && !strcmp(path + n - 5, ".list")) ||
			(n > strlen(DPKG_INFO) + 8 && !strcmp(path + n - 8, ".md5sums")));
	return !strncmp(path, DPKG_STATUS_D, strlen(DPKG_STATUS_D)) && n > strlen(DPKG_STATUS_D) &&
	       !strchr(path + strlen(DPKG_STATUS_D), '/');
}

static void db_release(pkgdb *db)
{
	size_t i;

	for (i = 0; i < db->ntexts; i++)
		free(db->texts[i]);
	free(db->texts);
	free(db->diverted);
	free(db->dg);
	free(db->pidx);
	free(db->p);
	free(db->o);
}

static size_t pkg_hash(const char *manager, const char *name, size_t n)
{
	size_t h = (size_t)(uintptr_t)manager * 31u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return h;
}

/* The hash index of the packages, rebuilt at twice the size when half full. */
static int pidx_grow(pkgdb *db)
{
	size_t cap = db->pcap ? 2 * db->pcap : 256, i;
	uint32_t *t = calloc(cap, sizeof(*t));

	if (!t)
		return SW_ENOMEM;
	for (i = 0; i < db->np; i++) {
		size_t h = pkg_hash(db->p[i].manager, db->p[i].name, db->p[i].nlen) & (cap - 1);
		while (t[h])
			h = (h + 1) & (cap - 1);
		t[h] = (uint32_t)i + 1;
	}
	free(db->pidx);
	db->pidx = t;
	db->pcap = cap;
	return 0;
}

/* The package called name (n bytes; ":arch" ignored) of manager, made
 * when new. Index in *out. */
static int db_pkg(pkgdb *db, const char *manager, const char *name, size_t n, size_t *out)
{
	const char *colon = memchr(name, ':', n);
	size_t i;

	if (colon)
		n = (size_t)(colon - name);
	/* a hash index, not a scan: a database of a hundred thousand packages
	 * (the image's to make) must not cost their square */
	if (2 * (db->np + 1) > db->pcap && pidx_grow(db) < 0)
		return SW_ENOMEM;
	for (i = pkg_hash(manager, name, n) & (db->pcap - 1); db->pidx[i]; i = (i + 1) & (db->pcap - 1)) {
		const pkg *q = &db->p[db->pidx[i] - 1];
		if (q->manager == manager && q->nlen == n && !strncmp(q->name, name, n)) {
			*out = db->pidx[i] - 1;
			return 0;
		}
	}
	if (db->np >= UINT32_MAX - 1 || SW_GROW(db->p, db->np) < 0)
		return SW_ENOMEM;
	db->pidx[i] = (uint32_t)db->np + 1;
	memset(&db->p[db->np], 0, sizeof(db->p[db->np]));
	db->p[db->np].manager = manager;
	db->p[db->np].name = name;
	db->p[db->np].nlen = n;
	if (!db->manager)
		db->manager = manager;
	*out = db->np++;
	return 0;
}

/* A digest the database recorded for owner entry o. */
static int db_digest(pkgdb *db, size_t o, int algo, const uint8_t *b)
{
	if (SW_GROW(db->dg, db->ndg) < 0 || db->ndg >= UINT32_MAX - 1)
		return SW_ENOMEM;
	db->dg[db->ndg].algo = (uint8_t)algo;
	memcpy(db->dg[db->ndg].b, b, dgs[algo].len);
	db->o[o].dig = (uint32_t)++db->ndg;
	return 0;
}

/* Path p owned by package pk (with the digest the database recorded for
 * it, algo -1 for none). *made: whether it became an entry. */
static int db_owner(pkgdb *db, char *path, size_t pk, int algo, const uint8_t *b, bool *made)
{
	if (made)
		*made = false;
	if (path[0] != '/' || !path[1])
		return 0; /* "/." and relative junk */
	if (SW_GROW(db->o, db->no) < 0)
		return SW_ENOMEM;
	db->o[db->no].path = path;
	db->o[db->no].pkg = (uint32_t)pk;
	db->o[db->no].dig = 0;
	db->no++;
	if (made)
		*made = true;
	return algo >= 0 ? db_digest(db, db->no - 1, algo, b) : 0;
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
		uint8_t md5[SW_MD5_LEN];
		bool have = false;
		if (md5sums) {
			if (!(sp = strstr(l, "  ")) || sp[2] == '\0')
				continue;
			have = sp - l == 2 * SW_MD5_LEN && sw_unhex(l, SW_MD5_LEN, md5) == 0;
			l = sp + 1; /* "md5 /path": the second blank becomes the root */
			*l = '/';
		}
		if ((rc = db_owner(db, l, k, have ? DG_MD5 : -1, md5, NULL)) < 0)
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
	bool have = false, last = false;  /* last: the R: line above made an owner entry */
	int rc;

	while ((l = next_line(&p))) {
		if (!*l) {
			have = false;
			folder = NULL;
			last = false;
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
			if ((rc = db_owner(db, path, k, -1, NULL, &last)) < 0)
				return rc;
		} else if (have && last && l[0] == 'Z' && l[1] == ':' && l[2] == 'Q' && l[3] == '1') {
			/* the SHA-1 of the file the R: line above named, base64 */
			uint8_t *d = NULL;
			size_t dn = 0;
			if (sw_b64_decode(l + 4, strlen(l + 4), &d, &dn) == 0 && dn == SW_SHA1_LEN)
				rc = db_digest(db, db->no - 1, DG_SHA1, d);
			free(d);
			if (rc < 0)
				return rc;
			last = false;
		}
	}
	return 0;
}

/* dpkg-divert's record: three lines a diversion (the path, where its
 * package's file went, the diverting package). */
static int read_diversions(pkgdb *db, char *text)
{
	char *l, *p = text;
	size_t i;

	for (i = 0; (l = next_line(&p)); i++) {
		if (i % 3 || l[0] != '/')
			continue;
		if (SW_GROW(db->diverted, db->ndiverted) < 0)
			return SW_ENOMEM;
		db->diverted[db->ndiverted++] = l;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Was path (or, under merged /usr, what it was before) moved aside by
 * dpkg-divert? (diverted sorted by read_dbs) */
static bool diverted(const pkgdb *db, const char *path)
{
	const char *again = !strncmp(path, "/usr/", 5) ? path + 4 : NULL;

	return db->ndiverted && (bsearch(&path, db->diverted, db->ndiverted, sizeof(*db->diverted), cmp_str) ||
				 (again && bsearch(&again, db->diverted, db->ndiverted, sizeof(*db->diverted),
						   cmp_str)));
}

/* ---- rpm: rpmdb.sqlite's Packages(hnum, blob), each blob a header ----
 *
 * A header: be32 il (index entries), be32 dl (data bytes), il entries of
 * be32 (tag, type, offset, count), then the data. The tags read: NAME
 * 1000, VERSION 1001, RELEASE 1002, ARCH 1022, FILEDIGESTS 1035 (hex, one
 * per file), DIRINDEXES 1116, BASENAMES 1117, DIRNAMES 1118,
 * FILEDIGESTALGO 5011 (1 MD5, 2 SHA-1, 8 SHA-256; MD5 when absent).
 * Everything is bounds-checked: the database is the image's. */

enum { RPM_INT32 = 4, RPM_STRING = 6, RPM_STRING_ARRAY = 8, RPM_I18NSTRING = 9 };

typedef struct rhdr {
	const uint8_t *idx, *data;
	uint32_t il, dl;
} rhdr;

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The tag's entry: type, offset and count, checked against the data. */
static bool rpm_tag(const rhdr *h, uint32_t tag, uint32_t *type, uint32_t *off, uint32_t *count)
{
	uint32_t i;

	for (i = 0; i < h->il; i++) {
		const uint8_t *e = h->idx + 16 * (size_t)i;
		if (be32(e) != tag)
			continue;
		*type = be32(e + 4);
		*off = be32(e + 8);
		*count = be32(e + 12);
		return *off < h->dl && *count > 0 && *count <= h->dl;
	}
	return false;
}

/* The n-th string of a STRING / STRING_ARRAY tag (each NUL-ended inside
 * the data), walking from *pos (the caller's cursor); NULL past the end. */
static const char *rpm_next_str(const rhdr *h, uint32_t *pos)
{
	const uint8_t *s = h->data + *pos, *nul;

	if (*pos >= h->dl || !(nul = memchr(s, '\0', h->dl - *pos)))
		return NULL;
	*pos += (uint32_t)(nul - s) + 1;
	return (const char *)s;
}

static const char *rpm_str(const rhdr *h, uint32_t tag)
{
	uint32_t type, off, count;

	if (!rpm_tag(h, tag, &type, &off, &count) || (type != RPM_STRING && type != RPM_I18NSTRING &&
						      type != RPM_STRING_ARRAY))
		return NULL;
	return rpm_next_str(h, &off);
}

static char *db_strdup(pkgdb *db, const char *str)
{
	char *t;

	if (SW_GROW(db->texts, db->ntexts) < 0 || !(t = sw__strdup(str)))
		return NULL;
	db->texts[db->ntexts++] = t;
	return t;
}

static int rpm_header(pkgdb *db, const uint8_t *blob, size_t n, size_t *files)
{
	rhdr h;
	const char *name, *v, *rel, *arch, **dirs = NULL;
	uint32_t type, off, count, ndirs, nbase, bpos, dpos = 0, ipos, i, algo = 1, digpos = 0, ndig = 0;
	size_t k;
	int rc = 0;

	if (n < 8)
		return 0;
	h.il = be32(blob);
	h.dl = be32(blob + 4);
	if (h.il > (n - 8) / 16 || h.dl > n - 8 - 16 * (size_t)h.il)
		return 0; /* not a header: nothing read from it */
	h.idx = blob + 8;
	h.data = h.idx + 16 * (size_t)h.il;
	if (!(name = rpm_str(&h, 1000)) || !*name)
		return 0;
	v = rpm_str(&h, 1001);
	rel = rpm_str(&h, 1002);
	arch = rpm_str(&h, 1022);
	if (!(name = db_strdup(db, name)))
		return SW_ENOMEM;
	if ((rc = db_pkg(db, "rpm", name, strlen(name), &k)) < 0)
		return rc;
	if (v) {
		char *ver = sw__asprintf("%s%s%s", v, rel ? "-" : "", rel ? rel : "");
		if (!ver || SW_GROW(db->texts, db->ntexts) < 0) {
			free(ver);
			return SW_ENOMEM;
		}
		db->texts[db->ntexts++] = ver;
		db->p[k].version = ver;
	}
	if (arch && !(db->p[k].arch = db_strdup(db, arch)))
		return SW_ENOMEM;
	if (rpm_tag(&h, 5011, &type, &off, &count) && type == RPM_INT32 && off % 4 == 0 && (size_t)off + 4 <= h.dl)
		algo = be32(h.data + off);
	if (rpm_tag(&h, 1035, &type, &off, &count) && type == RPM_STRING_ARRAY) {
		digpos = off;
		ndig = count;
	}
	if (!rpm_tag(&h, 1118, &type, &dpos, &ndirs) || type != RPM_STRING_ARRAY ||
	    !rpm_tag(&h, 1117, &type, &bpos, &nbase) || type != RPM_STRING_ARRAY ||
	    !rpm_tag(&h, 1116, &type, &ipos, &count) || type != RPM_INT32 || count != nbase || ipos % 4 ||
	    (size_t)ipos + 4 * (size_t)count > h.dl)
		return 0; /* a package with no files */
	if (*files + nbase > RPM_MAX_FILES) {
		db->partial = true;
		return 0;
	}
	*files += nbase;
	if (!(dirs = calloc(ndirs, sizeof(*dirs))))
		return SW_ENOMEM;
	for (i = 0; i < ndirs; i++)
		if (!(dirs[i] = rpm_next_str(&h, &dpos)))
			break;
	for (i = 0; i < nbase && rc == 0; i++) {
		uint32_t di = be32(h.data + ipos + 4 * (size_t)i);
		const char *base = rpm_next_str(&h, &bpos), *dig = ndig == nbase ? rpm_next_str(&h, &digpos) : NULL;
		char *path;
		if (!base)
			break;
		if (di >= ndirs || !dirs[di])
			continue;
		if (!(path = sw__asprintf("%s%s", dirs[di], base)) || SW_GROW(db->texts, db->ntexts) < 0) {
			free(path);
			rc = SW_ENOMEM;
			break;
		}
		db->texts[db->ntexts++] = path;
		{
			/* rpm's algorithm numbers (PGPHASHALGO): 1 MD5, 2 SHA-1, 8 SHA-256 */
			int a = algo == 1 ? DG_MD5 : algo == 2 ? DG_SHA1 : algo == 8 ? DG_SHA256 : -1;
			uint8_t b[SW_SHA256_LEN];
			if (a < 0 || !dig || strlen(dig) != 2 * dgs[a].len || sw_unhex(dig, dgs[a].len, b) < 0)
				a = -1;
			rc = db_owner(db, path, k, a, b, NULL);
		}
	}
	free(dirs);
	return rc;
}

static int read_rpm(pkgdb *db, const uint8_t *data, size_t len)
{
	sqlite3 *q = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *copy;
	size_t rows = 0, files = 0;
	int rc = 0, sr = SQLITE_DONE;

	if (!len || !(copy = sqlite3_malloc64(len)))
		return len ? SW_ENOMEM : 0;
	memcpy(copy, data, len);
	/* rpm keeps its database in WAL mode; an image in memory cannot be,
	 * and its log was folded in when rpm closed it: read as a rollback
	 * database (the header's read and write versions, 2 -> 1) */
	if (len >= 20 && copy[18] == 2 && copy[19] == 2)
		copy[18] = copy[19] = 1;
	if (sqlite3_open_v2(":memory:", &q, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		sqlite3_free(copy);
		sqlite3_close(q);
		db->partial = true;
		return 0;
	}
	/* a hostile file: no triggers or views run, no schema writes, bounded */
	sqlite3_db_config(q, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(q, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(q, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_db_config(q, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_limit(q, SQLITE_LIMIT_LENGTH, (int)(len < (size_t)INT32_MAX ? len + 1 : INT32_MAX));
	if (sqlite3_deserialize(q, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
				SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) != SQLITE_OK ||
	    sqlite3_prepare_v2(q, "SELECT blob FROM Packages", -1, &st, NULL) != SQLITE_OK)
		goto out; /* not an rpm database we can read: nothing from it */
	while (rc == 0 && (sr = sqlite3_step(st)) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (++rows > RPM_MAX_PACKAGES) {
			db->partial = true;
			break;
		}
		if (b && n > 0)
			rc = rpm_header(db, b, (size_t)n, &files);
	}
	if (rc == 0 && sr != SQLITE_DONE)
		db->partial = true; /* a corrupt page, or the bound: the rest unread */
	goto done;
out:
	db->partial = true;
done:
	sqlite3_finalize(st);
	sqlite3_close(q);
	return rc;
}

static int read_db(pkgdb *db, const char *path, const uint8_t *data, size_t len)
{
	const char *base = strrchr(path, '/') + 1;
	size_t n = strlen(base);
	char *t;

	if (!strcmp(path, RPM_SQLITE) || !strcmp(path, RPM_SQLITE_SYSIMAGE))
		return read_rpm(db, data, len);
	if (!(t = db_text(db, data, len)))
		return SW_ENOMEM;
	if (!strcmp(path, "/var/lib/dpkg/status"))
		return read_control(db, t, true);
	if (!strcmp(path, "/lib/apk/db/installed"))
		return read_apk(db, t);
	if (!strcmp(path, "/var/lib/dpkg/diversions"))
		return read_diversions(db, t);
	if (!strncmp(path, DPKG_INFO, strlen(DPKG_INFO)) && n > 5 && !strcmp(base + n - 5, ".list"))
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

/* The digests the engine took of a finding's file (evidence md5, sha1,
 * sha256) and whether it is an ELF; fd points into b. */
static void finding_digests(const sw_finding *f, uint8_t b[NDG][SW_SHA256_LEN], fdigs *fd, bool *elf)
{
	sw_json_doc *doc = NULL;
	const sw_json *e;
	int a;

	memset(fd, 0, sizeof(*fd));
	*elf = false;
	if (sw_json_parse(f->evidence, strlen(f->evidence), &doc, NULL) < 0)
		return;
	for (a = 0; a < NDG; a++) {
		const char *h = sw_json_get_str(sw_json_root(doc), dgs[a].name);
		if (h && strlen(h) == 2 * dgs[a].len && sw_unhex(h, dgs[a].len, b[a]) == 0)
			fd->d[a] = b[a];
	}
	e = sw_json_get(sw_json_root(doc), "elf");
	*elf = e && e->type == SW_JSON_BOOL && e->b;
	sw_json_free(doc);
}

/* The digest the database recorded for o, or NULL. */
static const digest *recorded(const pkgdb *db, const owner *o)
{
	return o && o->dig ? &db->dg[o->dig - 1] : NULL;
}

/* Is the file as its package recorded it? 1 yes, 0 no, -1 nothing to
 * compare (no digest recorded, or not one the engine took). */
static int as_recorded(const pkgdb *db, const owner *o, const fdigs *fd)
{
	const digest *d = recorded(db, o);

	if (!d || !fd->d[d->algo])
		return -1;
	return !memcmp(d->b, fd->d[d->algo], dgs[d->algo].len);
}

static int pkg_json(sw_jw *w, const pkgdb *db, const pkg *p)
{
	sw_jw_kstr(w, "manager", p ? p->manager : db->manager);
	sw_jw_key(w, "name");
	if (p)
		sw_jw_strn(w, p->name, p->nlen);
	else
		sw_jw_null(w);
	if (p && p->version)
		sw_jw_kstr(w, "version", p->version);
	if (p && p->arch)
		sw_jw_kstr(w, "architecture", p->arch);
	return 0;
}

/* A text pattern on data a package installed, unmodified: at most low. */
static bool lowerable(const sw_finding *f, bool elf)
{
	return !elf && !strcmp(f->detector, "yara") && strcmp(f->category, "miner") != 0 &&
	       strcmp(f->category, "packed") != 0 && !strncmp(f->path, "/usr/share/", 11) && !strchr(f->path, '!') &&
	       f->severity > SW_SEV_LOW;
}

/* A heuristic finding (suspicious or packed traits) at low or medium on a
 * file in a system directory: what an unowned file raises one step. */
#define UNOWNED_MIN_OWNERS 50      /* a database that lists an image's files, not a stub */

static bool raisable(const sw_finding *f)
{
	static const char *const dirs[] = { "/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/lib/", "/lib64/",
					    "/usr/lib/", "/usr/lib64/", "/usr/libexec/" };
	size_t i;

	if (strcmp(f->detector, "heuristic") != 0 || (f->severity != SW_SEV_LOW && f->severity != SW_SEV_MEDIUM) ||
	    strchr(f->path, '!'))
		return false;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(f->path, dirs[i], strlen(dirs[i])))
			return true;
	return false;
}

static int note(sw_finding *f, const pkgdb *db)
{
	const owner *o = owner_of(db, f->path);
	const pkg *p = o ? &db->p[o->pkg] : NULL;
	sw_buf b = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&b);
	uint8_t bytes[NDG][SW_SHA256_LEN];
	fdigs fd;
	bool elf;
	int rc, same;

	finding_digests(f, bytes, &fd, &elf);
	same = as_recorded(db, o, &fd);

	sw_jw_obj(&w);
	pkg_json(&w, db, p);
	if (same >= 0)
		sw_jw_kbool(&w, "unmodified", same == 1);
	sw_jw_end(&w);
	rc = sw_jw_done(&w);
	if (rc == 0)
		rc = sw_report__evidence_add(f, "package", sw_buf_cstr(&b));
	sw_buf_release(&b);
	if (rc == 0 && !p && !db->partial && db->no >= UNOWNED_MIN_OWNERS && raisable(f)) {
		/* a database that lists files, and not this program in a system
		 * directory: put there by hand, which the heuristic's traits make
		 * worse (a build that installs by hand leaves no such traits) */
		const char *was = f->severity == SW_SEV_LOW ? "\"low to medium: in a system directory no installed "
							      "package lists\"" :
					"\"medium to high: in a system directory no installed package lists\"";
		if ((rc = sw_report__evidence_add(f, "raised_unowned", was)) == 0)
			f->severity = f->severity == SW_SEV_LOW ? SW_SEV_MEDIUM : SW_SEV_HIGH;
	}
	if (rc == 0 && same == 1 && lowerable(f, elf)) {
		char was[32];
		snprintf(was, sizeof(was), "\"%s\"", sw_severity_name(f->severity));
		if ((rc = sw_report__evidence_add(f, "lowered_from", was)) == 0)
			f->severity = SW_SEV_LOW;
	}
	return rc;
}

/* An ELF in a system binary directory that its package recorded with
 * another digest. */
static int modified(sw_report *r, const pkgdb *db, const char *path, size_t layer, const psum *sum)
{
	const owner *o = owner_of(db, path);
	const digest *d = recorded(db, o);
	const fdigs fd = { { sum->md5, sum->sha1, sum->sha256 } };
	const pkg *p;
	sw_buf b = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&b);
	char hex[2 * SW_SHA256_LEN + 1], title[512];
	sw_finding f = { 0 };
	int rc;

	if (as_recorded(db, o, &fd) != 0 || diverted(db, path))
		return 0;
	p = &db->p[o->pkg];
	sw_jw_obj(&w);
	sw_hex(fd.d[d->algo], dgs[d->algo].len, hex);
	sw_jw_kstr(&w, dgs[d->algo].name, hex);
	sw_hex(d->b, dgs[d->algo].len, hex);
	sw_jw_kstr(&w, dgs[d->algo].recorded, hex);
	sw_jw_key(&w, "package");
	sw_jw_obj(&w);
	pkg_json(&w, db, p);
	sw_jw_kbool(&w, "unmodified", false);
	sw_jw_end(&w);
	sw_jw_end(&w);
	if ((rc = sw_jw_done(&w)) < 0) {
		sw_buf_release(&b);
		return rc;
	}
	snprintf(title, sizeof(title), "Replaced program: %s is not the file package %.*s%s%s installed", path,
		 (int)(p->nlen > 100 ? 100 : p->nlen), p->name, p->version ? " " : "", p->version ? p->version : "");
	f.id = "SW-PKG-MODIFIED";
	f.severity = SW_SEV_HIGH;
	f.category = "backdoor";
	f.title = title;
	f.detector = "provenance";
	f.path = path;
	f.layer = (int)layer;
	f.layer_digest = layer < r->nlayers ? r->layers[layer].digest : NULL;
	f.created_by = layer < r->nlayers ? r->layers[layer].created_by : NULL;
	f.in_final_fs = true;
	f.evidence = sw_buf_cstr(&b);
	rc = sw_report__add(r, &f);
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
	size_t l, k, i, nf = r->nf, sums = 0;
	int rc = 0;

	for (l = 0; l < s->njobs; l++)
		sums += s->jobs[l].nsums;
	for (i = 0; i < r->nf && !on_a_file(&r->f[i]); i++)
		;
	if (i == r->nf && !sums)
		return 0; /* no finding on a file, no program to compare: nothing to look up */
	for (l = 0; l < s->njobs && rc == 0; l++) {
		const job *j = &s->jobs[l];
		for (k = 0; k < j->nkept && rc == 0; k++) {
			const char *path = sw_scan__job_path(j, j->kept[k].rec);
			if (!sw_scan__is_pkgdb(path) || !sw_merge_live(m, l, j->kept[k].rec))
				continue;
			if (j->kept[k].len == 0)
				db.partial = true; /* there, but past what is kept (scan_layer.c) */
			else
				rc = read_db(&db, path, j->kept[k].data, j->kept[k].len);
		}
	}
	if (rc == 0 && db.manager) {
		if (db.no) { /* qsort takes no NULL array, even of nothing */
			qsort(db.o, db.no, sizeof(*db.o), cmp_owner);
			/* a path's .list entry and its .md5sums entry: one digest for
			 * both, whichever of them a lookup lands on */
			for (i = 1; i < db.no; i++)
				if (!db.o[i].dig && !strcmp(db.o[i].path, db.o[i - 1].path))
					db.o[i].dig = db.o[i - 1].dig;
			for (i = db.no - 1; i > 0; i--)
				if (!db.o[i - 1].dig && !strcmp(db.o[i].path, db.o[i - 1].path))
					db.o[i - 1].dig = db.o[i].dig;
		}
		if (db.ndiverted)
			qsort(db.diverted, db.ndiverted, sizeof(*db.diverted), cmp_str);
		for (i = 0; i < nf && rc == 0; i++)
			if (on_a_file(&r->f[i]))
				rc = note(&r->f[i], &db);
		for (l = 0; l < s->njobs && rc == 0; l++) {
			const job *j = &s->jobs[l];
			for (k = 0; k < j->nsums && rc == 0; k++)
				if (sw_merge_live(m, l, j->sums[k].rec))
					rc = modified(r, &db, sw_scan__job_path(j, j->sums[k].rec), l, &j->sums[k]);
		}
	}
	db_release(&db);
	return rc;
}
