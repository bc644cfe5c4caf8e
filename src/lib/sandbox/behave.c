/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Behaviour findings from a sandbox timeline (detector "sandbox"). Each
 * finding names the events that make it, in its evidence. A weak signal
 * alone (CPU use, a refused syscall a runtime check also makes) stays
 * medium; what only malware does (a stratum login, a shell on a socket, a
 * downloaded file executed, writes to persistence locations) is high or
 * critical.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sandbox_int.h"
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

typedef struct judge {
	sw_report *r;
	int rc;
	bool miner_signal;
} judge;

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

/* Add a finding unless one with the same id and path exists. */
static void add(judge *j, const char *id, sw_severity sev, const char *cat, const char *path, sw_buf *ev,
		const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void add(judge *j, const char *id, sw_severity sev, const char *cat, const char *path, sw_buf *ev,
		const char *fmt, ...)
{
	char title[512];
	va_list ap;
	sw_finding f;
	size_t i;

	if (j->rc < 0)
		return;
	for (i = 0; i < j->r->nf; i++)
		if (strcmp(j->r->f[i].id, id) == 0 &&
		    ((!path && !j->r->f[i].path) || (path && j->r->f[i].path && strcmp(path, j->r->f[i].path) == 0)))
			return;
	va_start(ap, fmt);
	vsnprintf(title, sizeof(title), fmt, ap);
	va_end(ap);
	memset(&f, 0, sizeof(f));
	f.id = id;
	f.severity = sev;
	f.category = cat;
	f.title = title;
	f.detector = "sandbox";
	f.path = path && *path ? path : NULL;
	f.layer = -1;
	f.evidence = ev && ev->len ? sw_buf_cstr(ev) : "{}";
	j->rc = sw_report__add(j->r, &f);
}

/* {"event":<the event>} as evidence, plus extra fields. */
static void evidence(sw_buf *b, const sw_json *e, const char *extra)
{
	sw_buf_reset(b);
	sw_buf_printf(b, "{\"time\":%.3f", dnum(e, "t"));
	if (num(e, "pid"))
		sw_buf_printf(b, ",\"pid\":%lld", (long long)num(e, "pid"));
	for (const sw_json *m = e->child; m; m = m->next) {
		if (!strcmp(m->key, "t") || !strcmp(m->key, "pid") || !strcmp(m->key, "ppid") ||
		    !(m->type == SW_JSON_STR || (m->type == SW_JSON_NUM && m->is_int)))
			continue;
		sw_buf_printf(b, ",");
		sw_jsonw_str(b, m->key);
		sw_buf_putc(b, ':');
		if (m->type == SW_JSON_STR)
			sw_jsonw_strn(b, m->s, m->slen);
		else
			sw_buf_printf(b, "%lld", (long long)m->i);
	}
	if (extra)
		sw_buf_printf(b, ",%s", extra);
	sw_buf_putc(b, '}');
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

int sw_behave(sw_report *r, const sw_json *const *ev, size_t n, double wall, unsigned ncpu)
{
	judge j = { r, 0, false };
	sw_buf b = SW_BUF_INIT(1 << 20), dsts = SW_BUF_INIT(1 << 20);
	const sw_json *summary = NULL, *last_download = NULL;
	char extra[512];
	size_t i, ndst = 0;
	char (*seen)[128] = calloc(4096, 128);

	if (!seen)
		return SW_ENOMEM;
	for (i = 0; i < n && j.rc == 0; i++) {
		const sw_json *e = ev[i];
		const char *k = str(e, "kind");
		if (!strcmp(k, "summary")) {
			summary = e;
		} else if (!strcmp(k, "stratum")) {
			const char *m = str(e, "method");
			evidence(&b, e, NULL);
			if (!strcmp(m, "login") || sw_stratum_is(m, "authorize")) {
				j.miner_signal = true;
				add(&j, "SW-DYN-STRATUM-LOGIN", SW_SEV_CRITICAL, "miner", NULL, &b,
				    "Logged in to a mining pool (stratum %s at %s:%lld) as \"%.80s\"", m, str(e, "dst"),
				    (long long)num(e, "port"), str(e, "login"));
			} else if (sw_stratum_is(m, "subscribe")) {
				j.miner_signal = true;
				add(&j, "SW-DYN-STRATUM", SW_SEV_HIGH, "miner", NULL, &b,
				    "Spoke the stratum mining protocol (%s at %s:%lld)", m, str(e, "dst"),
				    (long long)num(e, "port"));
			}
		} else if (!strcmp(k, "dns") || !strcmp(k, "tls") || !strcmp(k, "http")) {
			const char *h = !strcmp(k, "dns") ? str(e, "name") : !strcmp(k, "tls") ? str(e, "sni") : str(e, "host");
			char host[256];
			snprintf(host, sizeof(host), "%s", h);
			if (!strcmp(k, "http") && strchr(host, ':'))
				*strchr(host, ':') = 0;
			if (is_pool(host)) {
				j.miner_signal = true;
				evidence(&b, e, NULL);
				add(&j, "SW-DYN-POOL-HOST", SW_SEV_HIGH, "miner", NULL, &b,
				    "Looked up or contacted a mining pool: %s", host);
			}
			if (is_metadata(host)) {
				evidence(&b, e, NULL);
				add(&j, "SW-DYN-METADATA", SW_SEV_HIGH, "credential-theft", NULL, &b,
				    "Reached for the cloud metadata service (%s): where instance credentials are", host);
			}
			if (!strcmp(k, "http"))
				last_download = e;
		} else if (!strcmp(k, "connect") || !strcmp(k, "send")) {
			const char *d = str(e, "dst");
			char key[128];
			size_t x;
			if (*d && is_metadata(d)) {
				evidence(&b, e, NULL);
				add(&j, "SW-DYN-METADATA", SW_SEV_HIGH, "credential-theft", NULL, &b,
				    "Reached for the cloud metadata service (%s): where instance credentials are", d);
			}
			if (*str(e, "unix") && (strstr(str(e, "unix"), "docker.sock") || strstr(str(e, "unix"), "containerd") ||
						 strstr(str(e, "unix"), "crio.sock"))) {
				evidence(&b, e, NULL);
				add(&j, "SW-DYN-ESCAPE", SW_SEV_HIGH, "escape", str(e, "unix"), &b,
				    "Tried to reach a container runtime's socket (%s)", str(e, "unix"));
			}
			if (!strcmp(k, "connect") && *d && strcmp(str(e, "proto"), "tcp") == 0) {
				snprintf(key, sizeof(key), "%s:%lld", d, (long long)num(e, "port"));
				for (x = 0; x < ndst && strcmp(seen[x], key); x++)
					;
				if (x == ndst && ndst < 4096) {
					memcpy(seen[ndst++], key, sizeof(key));
					if (ndst <= 20)
						sw_buf_printf(&dsts, "%s\"%s\"", dsts.len ? "," : "", key);
				}
			}
		} else if (!strcmp(k, "tcp-session")) {
			if (num(e, "bytes_out") > 0 || num(e, "bytes_in") > 0)
				last_download = e;
		} else if (!strcmp(k, "exec")) {
			const char *p = str(e, "path"), *bn = base(p);
			bool inet_io = !strcmp(str(e, "stdin"), "inet") || !strcmp(str(e, "stdout"), "inet");
			if (num(e, "memfd")) {
				evidence(&b, e, NULL);
				add(&j, "SW-DYN-MEMFD-EXEC", SW_SEV_HIGH, "dropper", p, &b,
				    "Executed a program from memory (memfd): nothing on disk to scan");
			}
			if (num(e, "dropped")) {
				extra[0] = 0;
				if (last_download)
					snprintf(extra, sizeof(extra), "\"after_network_at\":%.3f", dnum(last_download, "t"));
				evidence(&b, e, extra[0] ? extra : NULL);
				if (last_download)
					add(&j, "SW-DYN-DROPPER", SW_SEV_CRITICAL, "dropper", p, &b,
					    "Downloaded, wrote and executed %s", p);
				else
					add(&j, "SW-DYN-DROPPED-EXEC", SW_SEV_HIGH, "dropper", p, &b,
					    "Executed a file it had written during the run: %s", p);
			}
			if (inet_io) {
				evidence(&b, e, NULL);
				if (shell_name(bn))
					add(&j, "SW-DYN-REVERSE-SHELL", SW_SEV_CRITICAL, "reverse-shell", p, &b,
					    "A shell (%s) runs with its input or output on a network socket", bn);
				else
					add(&j, "SW-DYN-SOCKET-STDIO", SW_SEV_HIGH, "reverse-shell", p, &b,
					    "%s runs with its input or output on a network socket", bn);
			}
		} else if (!strcmp(k, "file-write") || !strcmp(k, "file-rename")) {
			if (*str(e, "persistence")) {
				evidence(&b, e, NULL);
				add(&j, "SW-DYN-PERSISTENCE", SW_SEV_HIGH, "persistence", str(e, "path"), &b,
				    "Wrote to a persistence location: %s", str(e, "path"));
			} else if (!strcmp(str(e, "sensitive"), "escape")) {
				evidence(&b, e, NULL);
				add(&j, "SW-DYN-ESCAPE", SW_SEV_HIGH, "escape", str(e, "path"), &b,
				    "Wrote to %s: a way out of a container", str(e, "path"));
			}
		} else if (!strcmp(k, "file-read") || !strcmp(k, "symlink")) {
			evidence(&b, e, NULL);
			if (!strcmp(str(e, "sensitive"), "credentials"))
				add(&j, "SW-DYN-CREDENTIALS", SW_SEV_HIGH, "credential-theft", str(e, "path"), &b,
				    "Read a credentials file: %s", str(e, "path"));
			else if (!strcmp(k, "symlink"))
				add(&j, "SW-DYN-ESCAPE", SW_SEV_HIGH, "escape", str(e, "path"), &b,
				    "Made a link to %s: a path out of a container", str(e, "target"));
			else
				add(&j, "SW-DYN-ESCAPE", SW_SEV_HIGH, "escape", str(e, "path"), &b,
				    "Opened %s: a way out of a container", str(e, "path"));
		} else if (!strcmp(k, "blocked")) {
			const char *s = str(e, "syscall");
			evidence(&b, e, NULL);
			if (escape_syscall(s)) {
				char id_path[64];
				snprintf(id_path, sizeof(id_path), "syscall:%s", s);
				add(&j, "SW-DYN-ESCAPE", SW_SEV_HIGH, "escape", id_path, &b,
				    "Tried %s, refused: an escape attempt", s);
			} else {
				add(&j, "SW-DYN-PRIVILEGED", SW_SEV_MEDIUM, "privileged", NULL, &b,
				    "Tried a privileged syscall (%s), refused", s);
			}
		} else if (!strcmp(k, "limit")) {
			evidence(&b, e, NULL);
			if (!strcmp(str(e, "limit"), "processes"))
				add(&j, "SW-DYN-FORK-BOMB", SW_SEV_HIGH, "resource-abuse", NULL, &b,
				    "Created processes up to the sandbox's limit (%lld)", (long long)num(e, "max"));
			else if (!strcmp(str(e, "limit"), "disk"))
				add(&j, "SW-DYN-DISK", SW_SEV_MEDIUM, "resource-abuse", NULL, &b,
				    "Wrote more than the sandbox allows (%lld MiB), killed", (long long)(num(e, "max") >> 20));
			else
				add(&j, "SW-DYN-MEMORY", SW_SEV_MEDIUM, "resource-abuse", NULL, &b,
				    "Used more memory than the sandbox allows (%lld MiB), killed",
				    (long long)(num(e, "max") >> 20));
		}
	}
	if (j.rc == 0 && ndst >= 16) {
		sw_buf_reset(&b);
		sw_buf_printf(&b, "{\"destinations\":%zu,\"first\":[%s]}", ndst, dsts.len ? sw_buf_cstr(&dsts) : "");
		add(&j, "SW-DYN-SCANNING", ndst >= 64 ? SW_SEV_HIGH : SW_SEV_MEDIUM, "scanning", NULL, &b,
		    "Tried %zu different network destinations: scanning", ndst);
	}
	if (j.rc == 0 && summary) {
		double busy = dnum(summary, "busy_seconds"), cpu = dnum(summary, "cpu_seconds");
		double run = dnum(summary, "wall_seconds") > 0 ? dnum(summary, "wall_seconds") : wall;
		if (busy >= 5 || (run >= 4 && busy >= 0.6 * run)) {
			sw_buf_reset(&b);
			sw_buf_printf(&b, "{\"busy_seconds\":%.2f,\"cpu_seconds\":%.2f,\"wall_seconds\":%.2f,\"cpus\":%u}", busy,
				      cpu, run, ncpu);
			add(&j, "SW-DYN-CPU-BURN", j.miner_signal ? SW_SEV_HIGH : SW_SEV_MEDIUM, "miner", NULL, &b,
			    "Kept the CPUs busy for %.0f s of %.0f s%s", busy, run,
			    j.miner_signal ? ", with other mining signs" : "");
		}
	}
	free(seen);
	sw_buf_release(&b);
	sw_buf_release(&dsts);
	return j.rc;
}
