/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Behaviour findings from a sandbox run (detector "sandbox"). Each
 * finding names the events that make it, in its evidence. A weak signal
 * alone (CPU use, a refused syscall a runtime check also makes) stays
 * medium; what only malware does (a stratum login, a shell on a socket, a
 * downloaded file executed, writes to persistence locations) is high or
 * critical.
 *
 * The judge sees the events one at a time, as main reads them, and keeps
 * only what later findings need (a bounded table of destinations, the
 * time of the last download, the summary's figures): every event is
 * judged, however many there are and whether or not the timeline keeps
 * it. Findings are bounded too (FINDINGS_PER_ID distinct paths per id);
 * what a bound leaves out becomes an incomplete entry with its
 * SW-INCOMPLETE finding, so the verdict is never clean for it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sandbox_int.h"
#include "../detect/mining.h"
#include "../report/report_int.h"

/* Mining pools' domains (a name or its parent). */
static const char *const pools[] = {
	"supportxmr.com", "nanopool.org", "minexmr.com", "2miners.com", "f2pool.com", "hashvault.pro",
	"moneroocean.stream", "c3pool.com", "c3pool.org", "herominers.com", "unmineable.com", "xmrpool.eu",
	"nicehash.com", "ethermine.org", "flypool.org", "minergate.com", "monerohash.com", "miningpoolhub.com",
	"dwarfpool.com", "zergpool.com", "woolypooly.com", "kryptex.network", "hiveon.net", "k1pool.com",
	"skypool.org", "viaxmr.com", "prohashing.com", "mining-dutch.nl", "rplant.xyz",
	"pool.minexmr.com", "gulf.moneroocean.stream", "xmr.pool.minergate.com", "pool.hashvault.pro",
	"p2pool.io", "xmrfast.com", "xmr.2miners.com", "bohemianpool.com", "monero.crypto-pool.fr",
	"crypto-pool.fr", "dxpool.com", "antpool.com", "viabtc.com", "poolin.com", "slushpool.com",
	"braiins.com", "emcd.io",
};

static const char *const metadata_hosts[] = {
	"169.254.169.254", "metadata.google.internal", "metadata", "100.100.100.200", "fd00:ec2::254",
	"169.254.170.2",
};

static bool is_pool(const char *host)
{
	size_t i, n;

	if (!host || !*host)
		return false;
	n = strlen(host);
	for (i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		size_t l = strlen(pools[i]);
		if (n >= l && strcasecmp(host + n - l, pools[i]) == 0 && (n == l || host[n - l - 1] == '.'))
			return true;
	}
	return false;
}

static bool is_metadata(const char *host)
{
	size_t i;

	for (i = 0; host && i < sizeof(metadata_hosts) / sizeof(metadata_hosts[0]); i++)
		if (strcasecmp(host, metadata_hosts[i]) == 0)
			return true;
	return false;
}

/* Distinct findings of one id (one per path) kept; more are counted. */
#define FINDINGS_PER_ID 64
#define MAX_IDS 32
#define MAX_DESTINATIONS 4096

struct sw_judge {
	sw_report *r;
	int rc;
	unsigned ncpu;
	bool miner_signal;
	bool downloaded;           /* network traffic seen: at download_t */
	double download_t;
	bool have_summary;
	double busy, cpu, run;     /* the summary's figures */
	struct {
		int64_t tid, pid;
		char comm[20];
		double cpu, wait, seen;
	} thr[8];                  /* and its busiest threads */
	size_t nthr;
	char (*seen)[128];         /* TCP destinations, "name:port" (else "addr:port") */
	uint16_t seen_at[2 * MAX_DESTINATIONS]; /* open addressing: index + 1, 0 empty */
	size_t ndst;
	sw_buf b;                  /* evidence being built */
	struct {
		const char *id;    /* a literal */
		unsigned n;
		size_t at[FINDINGS_PER_ID]; /* its findings in r->f */
		uint64_t more;
	} ids[MAX_IDS];
	size_t ninc;
	uint64_t inc_more;
};

typedef sw_judge judge;

static const char *str(const sw_json *e, const char *k)
{
	const char *s = sw_json_get_str(e, k);
	return s ? s : "";
}

static int64_t num(const sw_json *e, const char *k)
{
	int64_t v = 0;
	(void)sw_json_get_i64(e, k, &v);
	return v;
}

static double dnum(const sw_json *e, const char *k)
{
	const sw_json *v = sw_json_get(e, k);
	return v && v->type == SW_JSON_NUM ? (v->is_int ? (double)v->i : v->d) : 0;
}

/* Add a finding unless one with the same id and path exists; past
 * FINDINGS_PER_ID of an id, count it. */
static void add(judge *j, const char *id, sw_severity sev, const char *cat, const char *path, sw_buf *ev,
		const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void add(judge *j, const char *id, sw_severity sev, const char *cat, const char *path, sw_buf *ev,
		const char *fmt, ...)
{
	char title[512];
	va_list ap;
	sw_finding f;
	size_t i, k;

	if (j->rc < 0)
		return;
	if (path && !*path)
		path = NULL;
	for (k = 0; k < MAX_IDS && j->ids[k].id && strcmp(j->ids[k].id, id) != 0; k++)
		;
	if (k == MAX_IDS)
		return; /* more ids than this file has */
	j->ids[k].id = id;
	for (i = 0; i < j->ids[k].n; i++) {
		const char *fp = j->r->f[j->ids[k].at[i]].path;
		if ((!path && !fp) || (path && fp && strcmp(path, fp) == 0))
			return;
	}
	if (j->ids[k].n >= FINDINGS_PER_ID) {
		j->ids[k].more++;
		return;
	}
	j->ids[k].at[j->ids[k].n++] = j->r->nf;
	va_start(ap, fmt);
	vsnprintf(title, sizeof(title), fmt, ap);
	va_end(ap);
	memset(&f, 0, sizeof(f));
	f.id = id;
	f.severity = sev;
	f.category = cat;
	f.title = title;
	f.detector = "sandbox";
	f.path = path;
	f.layer = -1;
	f.evidence = ev && ev->len ? sw_buf_cstr(ev) : "{}";
	j->rc = sw_report__add(j->r, &f);
}

/* The event's fields as evidence (its time, pid, strings and integers),
 * and when it came after the first download, that time (after_net >= 0). */
static void evidence(sw_buf *b, const sw_json *e, double after_net)
{
	sw_jw w = SW_JW_INIT(b);

	sw_buf_reset(b);
	sw_jw_obj(&w);
	sw_jw_key(&w, "time");
	sw_jw_real(&w, dnum(e, "t"), 3);
	if (num(e, "pid"))
		sw_jw_kint(&w, "pid", num(e, "pid"));
	for (const sw_json *m = e->child; m; m = m->next) {
		if (!strcmp(m->key, "t") || !strcmp(m->key, "pid") || !strcmp(m->key, "ppid") ||
		    !(m->type == SW_JSON_STR || (m->type == SW_JSON_NUM && m->is_int)))
			continue;
		sw_jw_key(&w, m->key);
		if (m->type == SW_JSON_STR)
			sw_jw_strn(&w, m->s, m->slen);
		else
			sw_jw_int(&w, m->i);
	}
	if (after_net >= 0) {
		sw_jw_key(&w, "after_network_at");
		sw_jw_real(&w, after_net, 3);
	}
	sw_jw_end(&w);
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static bool shell_name(const char *b)
{
	static const char *const shells[] = { "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox", "csh",
					      "tcsh", "fish" };
	size_t i;

	for (i = 0; i < sizeof(shells) / sizeof(shells[0]); i++)
		if (strcmp(b, shells[i]) == 0)
			return true;
	return strncmp(b, "python", 6) == 0 || strncmp(b, "perl", 4) == 0 || strncmp(b, "php", 3) == 0 ||
	       strcmp(b, "ruby") == 0 || strcmp(b, "lua") == 0;
}

static bool escape_syscall(const char *s)
{
	static const char *const esc[] = { "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "clone",
					   "ptrace", "init_module", "finit_module", "delete_module", "kexec_load",
					   "kexec_file_load", "open_by_handle_at", "name_to_handle_at", "bpf",
					   "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "fspick",
					   "mount_setattr" };
	size_t i;

	for (i = 0; i < sizeof(esc) / sizeof(esc[0]); i++)
		if (strcmp(s, esc[i]) == 0)
			return true;
	return false;
}

int sw_judge_new(sw_judge **out, sw_report *r, unsigned ncpu)
{
	judge *j = calloc(1, sizeof(*j));

	*out = NULL;
	if (!j || !(j->seen = calloc(MAX_DESTINATIONS, sizeof(*j->seen)))) {
		free(j);
		return SW_ENOMEM;
	}
	j->r = r;
	j->ncpu = ncpu;
	j->b = (sw_buf)SW_BUF_INIT(1 << 20);
	*out = j;
	return 0;
}

void sw_judge_free(sw_judge *j)
{
	if (!j)
		return;
	free(j->seen);
	sw_buf_release(&j->b);
	free(j);
}

/* Where a session went: the name the program resolved (the sink gives
 * each its own address), else the address. */
static const char *where(const sw_json *e)
{
	return *str(e, "name") ? str(e, "name") : str(e, "dst");
}

static void on_stratum(judge *j, const sw_json *e)
{
	const char *m = str(e, "method"), *tls = !strcmp(str(e, "tls"), "intercepted") ? ", inside TLS" : "";

	evidence(&j->b, e, -1);
	if (!strcmp(m, "login") || sw_stratum_is(m, "authorize")) {
		j->miner_signal = true;
		add(j, "SW-DYN-STRATUM-LOGIN", SW_SEV_CRITICAL, "miner", NULL, &j->b,
		    "Logged in to a mining pool (stratum %s at %s:%lld%s) as \"%.80s\"", m, where(e),
		    (long long)num(e, "port"), tls, str(e, "login"));
	} else if (sw_stratum_is(m, "subscribe")) {
		j->miner_signal = true;
		add(j, "SW-DYN-STRATUM", SW_SEV_HIGH, "miner", NULL, &j->b, "Spoke the stratum mining protocol (%s at %s:%lld%s)",
		    m, where(e), (long long)num(e, "port"), tls);
	}
}

static void on_host(judge *j, const sw_json *e, const char *k)
{
	const char *h = !strcmp(k, "dns") ? str(e, "name") : !strcmp(k, "tls") ? str(e, "sni") : str(e, "host");
	char host[256];

	snprintf(host, sizeof(host), "%s", h);
	if (!strcmp(k, "http") && strchr(host, ':'))
		*strchr(host, ':') = 0;
	if (is_pool(host)) {
		j->miner_signal = true;
		evidence(&j->b, e, -1);
		add(j, "SW-DYN-POOL-HOST", SW_SEV_HIGH, "miner", NULL, &j->b, "Looked up or contacted a mining pool: %s", host);
	}
	if (is_metadata(host)) {
		evidence(&j->b, e, -1);
		add(j, "SW-DYN-METADATA", SW_SEV_HIGH, "credential-theft", NULL, &j->b,
		    "Reached for the cloud metadata service (%s): where instance credentials are", host);
	}
	if (!strcmp(k, "http")) {
		j->downloaded = true;
		j->download_t = dnum(e, "t");
	}
}

static bool runtime_socket(const char *u)
{
	return *u && (strstr(u, "docker.sock") || strstr(u, "containerd") || strstr(u, "crio.sock"));
}

static void on_connect(judge *j, const sw_json *e, const char *k)
{
	const char *d = str(e, "dst"), *u = str(e, "unix"), *o = str(e, "object");
	char key[128];
	size_t x;

	if (*d && is_metadata(d)) {
		evidence(&j->b, e, -1);
		add(j, "SW-DYN-METADATA", SW_SEV_HIGH, "credential-theft", NULL, &j->b,
		    "Reached for the cloud metadata service (%s): where instance credentials are", d);
	}
	if (runtime_socket(o)) /* what the name led to */
		u = o;
	if (runtime_socket(u)) {
		evidence(&j->b, e, -1);
		add(j, "SW-DYN-ESCAPE", SW_SEV_HIGH, "escape", u, &j->b, "Tried to reach a container runtime's socket (%s)", u);
	}
	if (!strcmp(k, "connect") && *d && strcmp(str(e, "proto"), "tcp") == 0) {
		snprintf(key, sizeof(key), "%s:%lld", where(e), (long long)num(e, "port"));
		/* hashed: every connect may name a new destination */
		for (x = sw_sbx_hash(key) & (2 * MAX_DESTINATIONS - 1); j->seen_at[x]; x = (x + 1) & (2 * MAX_DESTINATIONS - 1))
			if (strcmp(j->seen[j->seen_at[x] - 1u], key) == 0)
				return;
		if (j->ndst < MAX_DESTINATIONS) {
			memcpy(j->seen[j->ndst++], key, sizeof(key));
			j->seen_at[x] = (uint16_t)j->ndst;
		}
	}
}

/* The settings an exec asked for, gathered from its arguments and its
 * environment: copies, since each reading reuses its hit. */
typedef struct asked {
	char pool[256], wallet[128];
	const char *pool_match, *option;
	bool decoded;
} asked;

static void asked_take(asked *a, const sw_mining_hit *h)
{
	if (!a->pool_match && h->pool) {
		a->pool_match = h->pool;
		snprintf(a->pool, sizeof(a->pool), "%.*s", (int)(h->host_len < 255 ? h->host_len : 255), h->host);
		a->decoded |= h->decoded;
	}
	if (!a->option && h->option) {
		a->option = h->option;
		a->decoded |= h->decoded;
	}
	if (!a->wallet[0] && h->wallet)
		snprintf(a->wallet, sizeof(a->wallet), "%.*s", (int)(h->wallet_len < 127 ? h->wallet_len : 127),
			 h->wallet);
}

/* What an exec asked to run, whether or not it ran (a miner's command
 * line raises this when its binary is not there): its arguments, joined,
 * and the environment entries the tracer kept, read as the static config
 * analysis reads an Entrypoint and an Env (base64 tokens decoded). The
 * pool, option and wallet may come from different places; a wallet counts
 * only next to a pool or an option. */
static void on_exec_asked(judge *j, const sw_json *e)
{
	const sw_json *av = sw_json_get_arr(e, "argv"), *env = sw_json_get_arr(e, "env"), *a;
	sw_buf line = SW_BUF_INIT(64u << 10);
	sw_mining_hit *h = malloc(sizeof(*h));
	sw_jw w = SW_JW_INIT(&j->b);
	asked got;

	memset(&got, 0, sizeof(got));
	if (!h) {
		j->rc = SW_ENOMEM;
		return;
	}
	for (a = av ? av->child : NULL; a; a = a->next)
		if (a->type == SW_JSON_STR) {
			if (line.len)
				sw_buf_putc(&line, ' ');
			sw_buf_append(&line, a->s, a->slen);
		}
	sw_detect__mining(line.data ? line.data : "", line.len, h);
	asked_take(&got, h);
	for (a = env ? env->child : NULL; a; a = a->next)
		if (a->type == SW_JSON_STR) {
			sw_detect__mining(a->s, a->slen, h);
			asked_take(&got, h);
		}
	free(h);
	if (got.pool_match || got.option) {
		bool strong = got.pool_match && (got.option || got.wallet[0]);
		j->miner_signal = true;
		sw_buf_reset(&j->b);
		sw_jw_obj(&w);
		sw_jw_key(&w, "time");
		sw_jw_real(&w, dnum(e, "t"), 3);
		if (num(e, "pid"))
			sw_jw_kint(&w, "pid", num(e, "pid"));
		sw_jw_kstr(&w, "path", str(e, "path"));
		sw_jw_key(&w, "argv");
		sw_jw_strn(&w, line.data ? line.data : "", line.len > 2048 ? 2048 : line.len);
		if (env && env->child) {
			sw_jw_karr(&w, "env");
			for (a = env->child; a; a = a->next)
				if (a->type == SW_JSON_STR)
					sw_jw_strn(&w, a->s, a->slen > 1024 ? 1024 : a->slen);
			sw_jw_end(&w);
		}
		if (got.pool_match) {
			sw_jw_kstr(&w, "pool", got.pool);
			sw_jw_kstr(&w, "pool_match", got.pool_match);
		}
		if (got.option)
			sw_jw_kstr(&w, "option", got.option);
		if (got.wallet[0])
			sw_jw_kstr(&w, "wallet", got.wallet);
		if (got.decoded)
			sw_jw_kbool(&w, "base64", true);
		sw_jw_kbool(&w, "ran", !num(e, "failed") && strcmp(str(e, "file"), "not found") != 0);
		sw_jw_end(&w);
		add(j, "SW-DYN-MINER-COMMAND", strong ? SW_SEV_CRITICAL : SW_SEV_HIGH, "miner", str(e, "path"), &j->b,
		    "%s a miner's command line (%.60s%s)%s%.80s%s%.12s%s%s", num(e, "failed") ? "Tried to run" : "Ran",
		    base(str(e, "path")), num(e, "failed") ? ", not there" : "", got.pool_match ? ": pool " : "",
		    got.pool, got.wallet[0] ? ", wallet " : "", got.wallet, got.wallet[0] ? "..." : "",
		    got.decoded ? " (base64-encoded)" : "");
	}
	sw_buf_release(&line);
}

static void on_exec(judge *j, const sw_json *e)
{
	const char *p = str(e, "path"), *bn = base(p);
	const sw_json *chain = sw_json_get_arr(e, "chain"), *c;
	bool inet_io = !strcmp(str(e, "stdin"), "inet") || !strcmp(str(e, "stdout"), "inet");

	on_exec_asked(j, e);
	if (num(e, "memfd")) {
		evidence(&j->b, e, -1);
		add(j, "SW-DYN-MEMFD-EXEC", SW_SEV_HIGH, "dropper", p, &j->b,
		    "Executed a program from memory (memfd): nothing on disk to scan");
	}
	for (c = chain ? chain->child : NULL; c; c = c->next) {
		/* a file the run wrote, given to a loader or an interpreter */
		const char *cp = str(c, "path");
		if (c->type != SW_JSON_OBJ || !num(c, "dropped"))
			continue;
		evidence(&j->b, e, -1);
		add(j, "SW-DYN-DROPPED-EXEC", SW_SEV_HIGH, "dropper", cp, &j->b,
		    "Ran a file it had written during the run: %s (the %s of %s)", cp, str(c, "role"), p);
	}
	if (num(e, "dropped")) {
		evidence(&j->b, e, j->downloaded ? j->download_t : -1);
		if (j->downloaded)
			add(j, "SW-DYN-DROPPER", SW_SEV_CRITICAL, "dropper", p, &j->b, "Downloaded, wrote and executed %s", p);
		else
			add(j, "SW-DYN-DROPPED-EXEC", SW_SEV_HIGH, "dropper", p, &j->b,
			    "Executed a file it had written during the run: %s", p);
	}
	if (inet_io) {
		evidence(&j->b, e, -1);
		if (shell_name(bn))
			add(j, "SW-DYN-REVERSE-SHELL", SW_SEV_CRITICAL, "reverse-shell", p, &j->b,
			    "A shell (%s) runs with its input or output on a network socket", bn);
		else
			add(j, "SW-DYN-SOCKET-STDIO", SW_SEV_HIGH, "reverse-shell", p, &j->b,
			    "%s runs with its input or output on a network socket", bn);
	}
}

static void on_file(judge *j, const sw_json *e, const char *k)
{
	const char *p = str(e, "path");

	if (!strcmp(k, "file-write") || !strcmp(k, "file-rename") || !strcmp(k, "file-link")) {
		if (*str(e, "persistence")) {
			evidence(&j->b, e, -1);
			add(j, "SW-DYN-PERSISTENCE", SW_SEV_HIGH, "persistence", p, &j->b, "Wrote to a persistence location: %s", p);
		} else if (!strcmp(str(e, "sensitive"), "escape")) {
			evidence(&j->b, e, -1);
			add(j, "SW-DYN-ESCAPE", SW_SEV_HIGH, "escape", p, &j->b, "Wrote to %s: a way out of a container", p);
		}
		return;
	}
	evidence(&j->b, e, -1);
	if (!strcmp(str(e, "sensitive"), "credentials"))
		add(j, "SW-DYN-CREDENTIALS", SW_SEV_HIGH, "credential-theft", p, &j->b, "Read a credentials file: %s", p);
	else if (!strcmp(k, "symlink"))
		add(j, "SW-DYN-ESCAPE", SW_SEV_HIGH, "escape", p, &j->b, "Made a link to %s: a path out of a container",
		    str(e, "target"));
	else
		add(j, "SW-DYN-ESCAPE", SW_SEV_HIGH, "escape", p, &j->b, "Opened %s: a way out of a container", p);
}

static void on_blocked(judge *j, const sw_json *e)
{
	const char *s = str(e, "syscall");
	char id_path[64];

	evidence(&j->b, e, -1);
	if (escape_syscall(s)) {
		snprintf(id_path, sizeof(id_path), "syscall:%s", s);
		add(j, "SW-DYN-ESCAPE", SW_SEV_HIGH, "escape", id_path, &j->b, "Tried %s, refused: an escape attempt", s);
	} else {
		add(j, "SW-DYN-PRIVILEGED", SW_SEV_MEDIUM, "privileged", NULL, &j->b, "Tried a privileged syscall (%s), refused",
		    s);
	}
}

static void on_limit(judge *j, const sw_json *e)
{
	const char *l = str(e, "limit");

	evidence(&j->b, e, -1);
	if (!strcmp(l, "processes"))
		add(j, "SW-DYN-FORK-BOMB", SW_SEV_HIGH, "resource-abuse", NULL, &j->b,
		    "Created processes up to the sandbox's limit (%lld)", (long long)num(e, "max"));
	else if (!strcmp(l, "disk"))
		add(j, "SW-DYN-DISK", SW_SEV_MEDIUM, "resource-abuse", NULL, &j->b,
		    "Wrote more than the sandbox allows (%lld MiB), killed", (long long)(num(e, "max") >> 20));
	else if (!strcmp(l, "inodes"))
		add(j, "SW-DYN-DISK", SW_SEV_MEDIUM, "resource-abuse", NULL, &j->b,
		    "Made more files than the sandbox allows (%lld), killed", (long long)num(e, "max"));
	else if (!strcmp(l, "descriptors"))
		add(j, "SW-DYN-MEMORY", SW_SEV_MEDIUM, "resource-abuse", NULL, &j->b,
		    "Held more descriptors than the sandbox allows (%lld): kernel buffers (pipes, sockets) no sample "
		    "sees, killed", (long long)num(e, "max"));
	else if (num(e, "oom_kills") > 0)
		add(j, "SW-DYN-MEMORY", SW_SEV_MEDIUM, "resource-abuse", NULL, &j->b,
		    "Used more memory than the sandbox allows (%lld MiB): the cgroup's OOM killer acted",
		    (long long)(num(e, "max") >> 20));
	else if (num(e, "socket_bytes") > num(e, "max") / 4)
		add(j, "SW-DYN-MEMORY", SW_SEV_MEDIUM, "resource-abuse", NULL, &j->b,
		    "Used more memory than the sandbox allows (%lld MiB), %lld MiB of it in socket buffers, killed",
		    (long long)(num(e, "max") >> 20), (long long)(num(e, "socket_bytes") >> 20));
	else
		add(j, "SW-DYN-MEMORY", SW_SEV_MEDIUM, "resource-abuse", NULL, &j->b,
		    "Used more memory than the sandbox allows (%lld MiB), killed", (long long)(num(e, "max") >> 20));
}

int sw_judge_event(sw_judge *j, const sw_json *e)
{
	const char *k = str(e, "kind");

	if (!strcmp(k, "summary")) {
		const sw_json *t = sw_json_get_arr(e, "threads");
		j->have_summary = true;
		j->busy = dnum(e, "busy_seconds");
		j->cpu = dnum(e, "cpu_seconds");
		j->run = dnum(e, "wall_seconds");
		for (t = t ? t->child : NULL, j->nthr = 0; t && j->nthr < 8; t = t->next) {
			if (t->type != SW_JSON_OBJ)
				continue;
			j->thr[j->nthr].tid = num(t, "tid");
			j->thr[j->nthr].pid = num(t, "pid");
			snprintf(j->thr[j->nthr].comm, sizeof(j->thr[0].comm), "%s", str(t, "comm"));
			j->thr[j->nthr].cpu = dnum(t, "cpu_seconds");
			j->thr[j->nthr].wait = dnum(t, "wait_seconds");
			j->thr[j->nthr++].seen = dnum(t, "seen_seconds");
		}
	} else if (!strcmp(k, "stratum")) {
		on_stratum(j, e);
	} else if (!strcmp(k, "dns") || !strcmp(k, "tls") || !strcmp(k, "http")) {
		on_host(j, e, k);
	} else if (!strcmp(k, "connect") || !strcmp(k, "send")) {
		on_connect(j, e, k);
	} else if (!strcmp(k, "tcp-session")) {
		if (num(e, "bytes_out") > 0 || num(e, "bytes_in") > 0) {
			j->downloaded = true;
			j->download_t = dnum(e, "t");
		}
	} else if (!strcmp(k, "exec")) {
		on_exec(j, e);
	} else if (!strcmp(k, "file-write") || !strcmp(k, "file-rename") || !strcmp(k, "file-link") ||
		   !strcmp(k, "file-read") || !strcmp(k, "symlink")) {
		on_file(j, e, k);
	} else if (!strcmp(k, "blocked")) {
		on_blocked(j, e);
	} else if (!strcmp(k, "limit")) {
		on_limit(j, e);
	} else if (!strcmp(k, "sink-names") && num(e, "over") > 0) {
		char why[160];
		snprintf(why, sizeof(why), "%lld DNS answers past the sinkhole's %d names got the shared address "
			 SW_SINK_V4 ": their connections are not told apart by name", (long long)num(e, "over"),
			 SW_SINK_MAX_NAMES);
		if (sw_judge_incomplete(j, NULL, why) < 0)
			j->rc = SW_ENOMEM;
	}
	return j->rc;
}

/* reserved: the few entries the judge itself adds at the end (what its
 * bounds left out) are not subject to the bound. */
static int incomplete(judge *j, const char *path, const char *reason, bool reserved)
{
	sw_report *r = j->r;
	sw_finding f;
	size_t i;

	if (j->rc < 0)
		return j->rc;
	for (i = 0; i < r->ninc; i++)
		if (strcmp(r->inc[i].reason, reason) == 0 &&
		    ((!path && !r->inc[i].path) || (path && r->inc[i].path && strcmp(path, r->inc[i].path) == 0)))
			return 0;
	if (!reserved && j->ninc >= SW_JUDGE_MAX_INCOMPLETE) {
		j->inc_more++;
		return 0;
	}
	j->ninc++;
	memset(&f, 0, sizeof(f));
	f.detector = "sandbox";
	f.path = path;
	f.layer = -1;
	return j->rc = sw_report__incomplete(r, &f, reason);
}

int sw_judge_incomplete(sw_judge *j, const char *path, const char *reason)
{
	return incomplete(j, path, reason, false);
}

/* The CPU rule: the intervals in which the sandbox's threads wanted
 * three quarters of a CPU or more (box.c, burning) add up to 5 s, or to
 * 60% of a run of 4 s or more. The evidence names the threads. */
static void cpu_burn(judge *j, double run)
{
	sw_jw w = SW_JW_INIT(&j->b);
	size_t k;

	if (!(j->busy >= 5 || (run >= 4 && j->busy >= 0.6 * run)))
		return;
	sw_buf_reset(&j->b);
	sw_jw_obj(&w);
	sw_jw_key(&w, "busy_seconds");
	sw_jw_real(&w, j->busy, 2);
	sw_jw_key(&w, "cpu_seconds");
	sw_jw_real(&w, j->cpu, 2);
	sw_jw_key(&w, "wall_seconds");
	sw_jw_real(&w, run, 2);
	sw_jw_kuint(&w, "cpus", j->ncpu);
	sw_jw_karr(&w, "threads");
	for (k = 0; k < j->nthr; k++) {
		sw_jw_obj(&w);
		sw_jw_kint(&w, "pid", j->thr[k].pid);
		sw_jw_kint(&w, "tid", j->thr[k].tid);
		sw_jw_kstr(&w, "comm", j->thr[k].comm);
		sw_jw_key(&w, "cpu_seconds");
		sw_jw_real(&w, j->thr[k].cpu, 2);
		sw_jw_key(&w, "wait_seconds");
		sw_jw_real(&w, j->thr[k].wait, 2);
		sw_jw_key(&w, "seen_seconds");
		sw_jw_real(&w, j->thr[k].seen, 2);
		sw_jw_end(&w);
	}
	sw_jw_end(&w);
	sw_jw_end(&w);
	if (j->nthr)
		add(j, "SW-DYN-CPU-BURN", j->miner_signal ? SW_SEV_HIGH : SW_SEV_MEDIUM, "miner", NULL, &j->b,
		    "Wanted the CPU for %.0f s of %.0f s (busiest thread: %s, pid %lld, %.0f s on a CPU)%s", j->busy,
		    run, j->thr[0].comm, (long long)j->thr[0].pid, j->thr[0].cpu,
		    j->miner_signal ? ", with other mining signs" : "");
	else
		add(j, "SW-DYN-CPU-BURN", j->miner_signal ? SW_SEV_HIGH : SW_SEV_MEDIUM, "miner", NULL, &j->b,
		    "Wanted the CPU for %.0f s of %.0f s%s", j->busy, run,
		    j->miner_signal ? ", with other mining signs" : "");
}

int sw_judge_end(sw_judge *j, double wall)
{
	char why[160];
	size_t k;

	if (j->rc == 0 && j->ndst >= 16) {
		sw_jw w = SW_JW_INIT(&j->b);
		sw_buf_reset(&j->b);
		sw_jw_obj(&w);
		sw_jw_kuint(&w, "destinations", j->ndst);
		sw_jw_karr(&w, "first");
		for (k = 0; k < j->ndst && k < 20; k++)
			sw_jw_str(&w, j->seen[k]);
		sw_jw_end(&w);
		sw_jw_end(&w);
		add(j, "SW-DYN-SCANNING", j->ndst >= 64 ? SW_SEV_HIGH : SW_SEV_MEDIUM, "scanning", NULL, &j->b,
		    "Tried %zu different network destinations: scanning", j->ndst);
	}
	if (j->rc == 0 && j->have_summary)
		cpu_burn(j, j->run > 0 ? j->run : wall);
	for (k = 0; k < MAX_IDS && j->ids[k].id && j->rc == 0; k++)
		if (j->ids[k].more) {
			snprintf(why, sizeof(why), "sandbox: %llu more %s findings not listed (at most %d)",
				 (unsigned long long)j->ids[k].more, j->ids[k].id, FINDINGS_PER_ID);
			(void)incomplete(j, NULL, why, true);
		}
	if (j->rc == 0 && j->inc_more) {
		snprintf(why, sizeof(why), "sandbox: %llu more incomplete entries not listed (at most %d)",
			 (unsigned long long)j->inc_more, SW_JUDGE_MAX_INCOMPLETE);
		(void)incomplete(j, NULL, why, true);
	}
	return j->rc;
}
