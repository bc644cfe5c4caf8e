/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Heuristics that rules do badly: facts about a file's structure, place and
 * permissions. Each fact is a weak signal with a weight; a file gets one
 * finding whose severity comes from the sum, so one weak signal alone (a
 * static binary, an unusual setuid bit) is at most low, and only
 * combinations (a packed, static ELF named like a kernel thread under
 * /var/tmp) reach high. The evidence lists every signal.
 *
 * ELF facts are read with bounds checks on every offset: the header, the
 * program headers (PT_INTERP means dynamic linking), the section names
 * (UPX0/UPX1), and the shape UPX leaves when its magic has been altered to
 * evade signatures (no section headers, a first load segment that is all
 * memory and no file, high entropy).
 */
#include <math.h>
#include <string.h>

#include "detector.h"
#include "../util/banned.h"

#define MAX_SIGNALS 12

typedef struct signals {
	const char *name[MAX_SIGNALS];
	int weight[MAX_SIGNALS];
	size_t n;
	int score;
	bool packed;
} signals;

static void add(signals *s, const char *name, int w)
{
	if (s->n < MAX_SIGNALS) {
		s->name[s->n] = name;
		s->weight[s->n++] = w;
	}
	s->score += w;
}

/* Shannon entropy in bits per byte. Large files are sampled (eight spread
 * 32 KiB windows): packed code is dense throughout, and a full pass over
 * every library would cost as much as decompressing it. */
/* Count byte values into four tables (a run of equal bytes then does not
 * wait on its own increments). */
static void histogram(const uint8_t *p, size_t n, uint32_t c[4][256])
{
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		c[0][p[i]]++;
		c[1][p[i + 1]]++;
		c[2][p[i + 2]]++;
		c[3][p[i + 3]]++;
	}
	for (; i < n; i++)
		c[0][p[i]]++;
}

static double entropy(const uint8_t *p, size_t n)
{
	uint32_t c[4][256];
	size_t i, total;
	double h = 0;

	memset(c, 0, sizeof(c));
	if (n > 512u << 10) {
		size_t w, step = (n - (32u << 10)) / 7;
		for (w = 0; w < 8; w++)
			histogram(p + w * step, 32u << 10, c);
		total = 8u * (32u << 10);
	} else {
		histogram(p, n, c);
		total = n;
	}
	for (i = 0; i < 256; i++) {
		uint32_t k = c[0][i] + c[1][i] + c[2][i] + c[3][i];
		if (k) {
			double q = (double)k / (double)total;
			h -= q * log2(q);
		}
	}
	return h;
}

static uint64_t rd(const uint8_t *p, size_t n, bool be)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[be ? n - 1 - i : i] << (8 * i);
	return v;
}

typedef struct elf {
	bool is64, be;
	uint16_t type, phnum, shnum, shstrndx;
	uint64_t phoff, shoff;
	uint16_t phentsize, shentsize;
} elf;

static bool elf_header(const uint8_t *p, size_t n, elf *e)
{
	if (n < 52 || memcmp(p, "\x7f" "ELF", 4) != 0 || (p[4] != 1 && p[4] != 2) ||
	    (p[5] != 1 && p[5] != 2))
		return false;
	e->is64 = p[4] == 2;
	e->be = p[5] == 2;
	if (e->is64 && n < 64)
		return false;
	e->type = (uint16_t)rd(p + 16, 2, e->be);
	if (e->is64) {
		e->phoff = rd(p + 32, 8, e->be);
		e->shoff = rd(p + 40, 8, e->be);
		e->phentsize = (uint16_t)rd(p + 54, 2, e->be);
		e->phnum = (uint16_t)rd(p + 56, 2, e->be);
		e->shentsize = (uint16_t)rd(p + 58, 2, e->be);
		e->shnum = (uint16_t)rd(p + 60, 2, e->be);
		e->shstrndx = (uint16_t)rd(p + 62, 2, e->be);
	} else {
		e->phoff = rd(p + 28, 4, e->be);
		e->shoff = rd(p + 32, 4, e->be);
		e->phentsize = (uint16_t)rd(p + 42, 2, e->be);
		e->phnum = (uint16_t)rd(p + 44, 2, e->be);
		e->shentsize = (uint16_t)rd(p + 46, 2, e->be);
		e->shnum = (uint16_t)rd(p + 48, 2, e->be);
		e->shstrndx = (uint16_t)rd(p + 50, 2, e->be);
	}
	return true;
}

/* Program headers: interpreter present? first PT_LOAD memory-only? */
static void elf_segments(const uint8_t *p, size_t n, const elf *e, bool *interp,
			 bool *load0_bss, int *loads)
{
	uint16_t i;

	*interp = *load0_bss = false;
	*loads = 0;
	if (e->phentsize < (e->is64 ? 56 : 32) || e->phoff >= n)
		return;
	for (i = 0; i < e->phnum && i < 256; i++) {
		uint64_t off = e->phoff + (uint64_t)i * e->phentsize, filesz, memsz;
		uint32_t type;
		if (off + e->phentsize > n)
			return;
		type = (uint32_t)rd(p + off, 4, e->be);
		filesz = e->is64 ? rd(p + off + 32, 8, e->be) : rd(p + off + 16, 4, e->be);
		memsz = e->is64 ? rd(p + off + 40, 8, e->be) : rd(p + off + 20, 4, e->be);
		if (type == 3)
			*interp = true;
		if (type == 1 && (*loads)++ == 0 && filesz == 0 && memsz > 0)
			*load0_bss = true;
	}
}

/* Is there a section called `want` (e.g. "UPX0")? */
static bool elf_section(const uint8_t *p, size_t n, const elf *e, const char *want)
{
	uint64_t str_off, str_size, base;
	uint16_t i;

	if (!e->shnum || e->shstrndx >= e->shnum || e->shentsize < (e->is64 ? 64 : 40) ||
	    e->shoff >= n)
		return false;
	base = e->shoff + (uint64_t)e->shstrndx * e->shentsize;
	if (base + e->shentsize > n)
		return false;
	str_off = e->is64 ? rd(p + base + 24, 8, e->be) : rd(p + base + 16, 4, e->be);
	str_size = e->is64 ? rd(p + base + 32, 8, e->be) : rd(p + base + 20, 4, e->be);
	if (str_off >= n || str_size > n - str_off)
		return false;
	for (i = 0; i < e->shnum && i < 4096; i++) {
		uint64_t off = e->shoff + (uint64_t)i * e->shentsize, name;
		if (off + 4 > n)
			return false;
		name = rd(p + off, 4, e->be);
		if (name < str_size && str_size - name > strlen(want) &&
		    memcmp(p + str_off + name, want, strlen(want) + 1) == 0)
			return true;
	}
	return false;
}

static bool has(const uint8_t *p, size_t n, const char *s)
{
	return memmem(p, n, s, strlen(s)) != NULL;
}

/* UPX's notice ("This file is packed with the UPX"), each byte XOR 0x5a:
 * written plainly, the needle would sit in stowaway's own binary, and the
 * scan of stowaway's image would find UPX marks in it. */
static const uint8_t upx_notice[] = { 0x0e, 0x32, 0x33, 0x29, 0x7a, 0x3c, 0x33, 0x36, 0x3f, 0x7a, 0x33, 0x29, 0x7a, 0x2a, 0x3b, 0x39, 0x31, 0x3f, 0x3e, 0x7a, 0x2d, 0x33, 0x2e, 0x32, 0x7a, 0x2e, 0x32, 0x3f, 0x7a, 0x0f, 0x0a, 0x02 };

static volatile uint8_t upx_mask = 0x5a; /* read at run time: the compiler cannot fold the needle back */

static bool has_notice(const uint8_t *p, size_t n)
{
	uint8_t needle[sizeof(upx_notice)], m = upx_mask;
	size_t i;

	for (i = 0; i < sizeof(needle); i++)
		needle[i] = upx_notice[i] ^ m;
	return memmem(p, n, needle, sizeof(needle)) != NULL;
}

static bool under(const char *path, const char *dir)
{
	size_t l = strlen(dir);
	return strncmp(path, dir, l) == 0 && path[l] == '/';
}

static bool in_list(const char *path, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(path, *list) == 0)
			return true;
	return false;
}

/* setuid/setgid files that Debian and Alpine packages install. */
static const char *const suid_ok[] = {
	"/usr/bin/passwd", "/usr/bin/su", "/bin/su", "/usr/bin/mount", "/bin/mount",
	"/usr/bin/umount", "/bin/umount", "/usr/bin/chsh", "/usr/bin/chfn", "/usr/bin/gpasswd",
	"/usr/bin/newgrp", "/usr/bin/sudo", "/usr/bin/pkexec", "/usr/bin/chage",
	"/usr/bin/expiry", "/usr/bin/wall", "/usr/bin/write.ul", "/usr/bin/crontab",
	"/usr/bin/ssh-agent", "/usr/bin/fusermount", "/usr/bin/fusermount3", "/usr/bin/at",
	"/usr/bin/bsd-write", "/usr/bin/dotlockfile", "/usr/bin/mlocate", "/usr/bin/plocate",
	"/usr/sbin/unix_chkpwd", "/sbin/unix_chkpwd", "/usr/sbin/pam_extrausers_chkpwd",
	"/usr/lib/openssh/ssh-keysign", "/usr/lib/dbus-1.0/dbus-daemon-launch-helper",
	"/usr/lib/policykit-1/polkit-agent-helper-1", "/usr/libexec/polkit-agent-helper-1",
	"/usr/lib/eject/dmcrypt-get-device", "/usr/sbin/postdrop", "/usr/sbin/postqueue",
	"/usr/bin/ntfs-3g", "/usr/bin/Xorg.wrap", "/usr/lib/xorg/Xorg.wrap",
	"/bin/bbsuid", "/usr/bin/bbsuid", "/usr/lib/chromium/chrome-sandbox",
	"/usr/sbin/exim4", "/usr/bin/procmail", "/usr/bin/lockfile", "/usr/bin/screen",
	NULL,
};

/* files that carry file capabilities in Debian packages */
static const char *const caps_ok[] = {
	"/usr/bin/ping", "/bin/ping", "/usr/bin/ping6", "/usr/bin/mtr-packet",
	"/usr/sbin/arping", "/usr/bin/arping", "/usr/bin/traceroute6.iputils",
	"/usr/lib/x86_64-linux-gnu/gstreamer1.0/gstreamer-1.0/gst-ptp-helper",
	"/usr/bin/gnome-keyring-daemon", "/usr/bin/newuidmap", "/usr/bin/newgidmap",
	"/usr/sbin/clockdiff", "/usr/bin/clockdiff",
	NULL,
};

static const char *const kthreads[] = {
	"kworker", "kswapd0", "kthreadd", "ksoftirqd", "kdevtmpfs", "migration",
	"rcu_sched", "watchdogd", "kauditd", "khugepaged", "jbd2", "kblockd", "xfsaild",
	NULL,
};

static void place_signals(const sw_file *f, bool exec, bool is_elf, signals *s)
{
	const char *base = strrchr(f->path, '/') + 1, *c;
	size_t i;

	if (!exec)
		return;
	for (i = 0; kthreads[i]; i++)
		if (strncmp(base, kthreads[i], strlen(kthreads[i])) == 0) {
			add(s, "executable named like a kernel thread", 3);
			break;
		}
	if (under(f->path, "/tmp") || under(f->path, "/var/tmp") || under(f->path, "/dev/shm") ||
	    under(f->path, "/run/shm"))
		add(s, "executable under a temporary directory", 3);
	else if (is_elf && (strstr(f->path, "/fonts/") || under(f->path, "/usr/share/doc") ||
			    under(f->path, "/usr/share/man") || under(f->path, "/usr/share/locale")))
		add(s, "ELF binary in a fonts, docs or locale folder", 3); /* example scripts live there */
	for (c = f->path; (c = strstr(c, "/.")); c++)
		if (c[2] && c[2] != '/' && c[2] != '.' &&
		    (under(f->path, "/usr") || under(f->path, "/bin") || under(f->path, "/sbin") ||
		     under(f->path, "/lib") || under(f->path, "/etc") || under(f->path, "/var") ||
		     under(f->path, "/opt") || under(f->path, "/root"))) {
			add(s, "hidden (dot) name in a system folder", 2);
			break;
		}
}

static void elf_signals(const uint8_t *p, size_t n, signals *s)
{
	bool interp, load0_bss, upx_marks;
	int loads;
	elf e;

	if (!elf_header(p, n, &e))
		return;
	elf_segments(p, n, &e, &interp, &load0_bss, &loads);
	if (!interp && e.type == 2)
		add(s, "statically linked executable", 1);
	upx_marks = has(p, n < 4096 ? n : 4096, "UPX!") || elf_section(p, n, &e, "UPX0") ||
		    elf_section(p, n, &e, "UPX1") || has_notice(p, n);
	if (upx_marks) {
		add(s, "UPX packer marks", 3);
		s->packed = true;
	}
	/* Entropy alone is weak: data tables (iconv, locales) are dense too.
	 * Without section headers it is the shape packers leave. */
	if (n >= 4096 && entropy(p, n) > 7.3) {
		add(s, "high entropy (compressed or encrypted content)", 1);
		if (e.shnum == 0) {
			add(s, "no section headers", 1);
			s->packed = true;
		}
		if (!upx_marks && e.shnum == 0 && load0_bss && loads >= 2)
			add(s, "UPX-shaped layout with the packer magic removed", 3);
	}
}

static int heur_file(void *state, void *wstate, const sw_file *f, const uint8_t *data,
		     size_t len, sw_emit *out)
{
	signals s = { { 0 }, { 0 }, 0, 0, false };
	sw_buf ev = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&ev);
	char mode[16];
	bool is_elf = data && len >= 4 && memcmp(data, "\x7f" "ELF", 4) == 0;
	bool exec = f->type == '0' && (is_elf || (f->mode & 0111));
	sw_severity sev;
	size_t i;
	int rc;

	(void)state, (void)wstate;
	if (f->type != '0')
		return 0;
	if ((f->mode & 06000) && !in_list(f->path, suid_ok))
		add(&s, (f->mode & 04000) ? "setuid bit on a file no known package ships setuid" :
			"setgid bit on a file no known package ships setgid", 2);
	for (i = 0; i < f->nxattrs; i++)
		if (strcmp(f->xattrs[i].name, "security.capability") == 0 && !in_list(f->path, caps_ok))
			add(&s, "file capabilities on a file no known package gives them", 2);
	if (is_elf)
		elf_signals(data, len, &s);
	place_signals(f, exec, is_elf, &s);
	if (s.score < 2)
		return 0; /* one weak signal is not a finding */
	sev = s.score >= 6 ? SW_SEV_HIGH : s.score >= 4 ? SW_SEV_MEDIUM : SW_SEV_LOW;
	sw_jw_obj(&w);
	sw_jw_kint(&w, "score", s.score);
	sw_jw_karr(&w, "signals");
	for (i = 0; i < s.n; i++) {
		sw_jw_obj(&w);
		sw_jw_kstr(&w, "signal", s.name[i]);
		sw_jw_kint(&w, "weight", s.weight[i]);
		sw_jw_end(&w);
	}
	sw_jw_end(&w);
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(f->mode & 07777));
	sw_jw_kstr(&w, "mode", mode);
	sw_jw_end(&w);
	/* a failed append leaves half an object: never emitted as evidence */
	if ((rc = sw_jw_done(&w)) == 0)
		rc = sw_emit_finding(out, s.packed ? "SW-HEUR-PACKED" : "SW-HEUR-SUSPICIOUS-FILE", sev,
				     s.packed ? "packed" : "suspicious-config",
				     s.packed ? "Packed executable with suspicious traits" :
				     "Executable with suspicious traits (place, name or permissions)",
				     sw_buf_cstr(&ev));
	sw_buf_release(&ev);
	return rc;
}

const sw_detector sw_detector_heur = {
	.name = "heuristic",
	.flags = SW_DET_CONTENT,
	.file = heur_file,
};
