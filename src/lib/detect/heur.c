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
#include <pthread.h>
#include <string.h>

#include "detector.h"
#include "../util/elf.h"
#include "../util/banned.h"

#define MAX_SIGNALS 12

typedef struct signals {
	const char *name[MAX_SIGNALS];
	int weight[MAX_SIGNALS];
	size_t n;
	int score;
	int dense_pct;          /* share of dense windows, -1 when not a signal */
	bool packed, loader;
} signals;

static void add(signals *s, const char *name, int w)
{
	if (s->n < MAX_SIGNALS) {
		s->name[s->n] = name;
		s->weight[s->n++] = w;
	}
	s->score += w;
}

/* Entropy in bits per byte, over 4 KiB windows: every window of a file up
 * to 512 KiB, 64 windows spread evenly over a larger one (packed code is
 * dense throughout, and a full pass over every library would cost as much
 * as decompressing it). The windows give the whole sample's entropy and
 * how many windows are dense on their own: a compressed payload that fills
 * a fifth of a loader shows there, while the average stays low. */
#define WIN 4096u
#define MAX_WIN 128u
#define DENSE_BITS 7.5

typedef struct dense {
	double h;               /* the sample's entropy */
	unsigned windows, dense;
} dense;

static double klogk[WIN + 1];   /* k * log2(k) for a count k in one window */
static pthread_once_t klogk_once = PTHREAD_ONCE_INIT;

static void klogk_init(void)
{
	unsigned k;

	for (k = 1; k <= WIN; k++)
		klogk[k] = k * log2((double)k);
}

static void entropy(const uint8_t *p, size_t n, dense *d)
{
	uint32_t total[256];
	uint64_t sum = 0;
	size_t w, nw, step, i;

	pthread_once(&klogk_once, klogk_init);
	memset(total, 0, sizeof(total));
	memset(d, 0, sizeof(*d));
	nw = n <= MAX_WIN * WIN ? (n + WIN - 1) / WIN : 64;
	step = n <= MAX_WIN * WIN ? WIN : (n - WIN) / 63;
	for (w = 0; w < nw; w++) {
		const uint8_t *q = p + w * step;
		size_t len = n - w * step < WIN ? n - w * step : WIN;
		uint16_t c[4][256]; /* four tables: a run of equal bytes does not wait on its own increments */
		double s = 0;
		memset(c, 0, sizeof(c));
		for (i = 0; i + 4 <= len; i += 4) {
			c[0][q[i]]++;
			c[1][q[i + 1]]++;
			c[2][q[i + 2]]++;
			c[3][q[i + 3]]++;
		}
		for (; i < len; i++)
			c[0][q[i]]++;
		for (i = 0; i < 256; i++) {
			unsigned k = (unsigned)c[0][i] + c[1][i] + c[2][i] + c[3][i];
			total[i] += k;
			s += klogk[k];
		}
		sum += len;
		if (len == WIN) {
			d->windows++;
			/* H = log2(W) - sum(k log2 k) / W */
			if (12.0 - s / WIN > DENSE_BITS)
				d->dense++;
		}
	}
	for (i = 0; i < 256; i++)
		if (total[i]) {
			double q = (double)total[i] / (double)sum;
			d->h -= q * log2(q);
		}
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

/* Program headers: interpreter present? first PT_LOAD memory-only? */
static void elf_segments(const sw_elf *e, bool *interp, bool *load0_bss, int *loads)
{
	sw_elf_seg g;
	unsigned i;

	*interp = *load0_bss = false;
	*loads = 0;
	for (i = 0; sw_elf_segment(e, i, &g); i++) {
		if (g.type == SW_PT_INTERP)
			*interp = true;
		if (g.type == SW_PT_LOAD && (*loads)++ == 0 && g.filesz == 0 && g.memsz > 0)
			*load0_bss = true;
	}
}

/* `mov` of a syscall number followed, within 32 bytes, by the syscall
 * instruction: how a static binary calls memfd_create or execveat.
 * x86-64: "mov eax, imm32" (b8 NN NN 00 00) then "syscall" (0f 05), found
 * with memchr on b8 (many bytes a cycle, where memmem runs one). arm64:
 * "movz x8, #NR" then "svc #0", both 4-byte aligned words. One pass looks
 * for both numbers: bit i of the result is set when nr[i] is called. */
static unsigned syscalls_x64(const uint8_t *p, size_t n, const uint16_t nr[2])
{
	const uint8_t *at = p, *end = p + n;
	unsigned found = 0, i;

	while (found != 3 && at < end && (at = memchr(at, 0xb8, (size_t)(end - at)))) {
		size_t room = (size_t)(end - at);
		for (i = 0; i < 2 && room >= 5; i++)
			if (!(found & 1u << i) && at[1] == (nr[i] & 0xff) && at[2] == nr[i] >> 8 &&
			    !at[3] && !at[4] && memmem(at + 5, room - 5 < 32 ? room - 5 : 32, "\x0f\x05", 2))
				found |= 1u << i;
		at++;
	}
	return found;
}

static unsigned syscalls_a64(const uint8_t *p, size_t n, const uint16_t nr[2])
{
	unsigned found = 0, b;
	size_t i, j;

	for (i = 0; i + 4 <= n && found != 3; i += 4) {
		uint32_t w = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
			     (uint32_t)p[i + 3] << 24;
		for (b = 0; b < 2; b++) {
			if ((found & 1u << b) || w != (0xd2800008u | (uint32_t)nr[b] << 5))
				continue;
			for (j = i + 4; j + 4 <= n && j <= i + 32; j += 4)
				if (!memcmp(p + j, "\x01\x00\x00\xd4", 4)) {
					found |= 1u << b;
					break;
				}
		}
	}
	return found;
}

#define MAX_CODE (32u << 20) /* bytes of code searched for syscalls */

/* Does the program create a memory file and execute it (memfd_create, then
 * fexecve or execveat)? A dynamic program imports them by name (.dynsym);
 * a static one carries the syscalls in its code (x86-64, arm64). Running a
 * program that never touches the disk is what loaders of packed miners do;
 * either half alone is common (memfd_create for shared memory). */
static bool runs_from_memory(const sw_elf *e, bool interp)
{
	/* memfd_create and execveat: 319 and 322 on x86-64, 279 and 281 on arm64 */
	static const uint16_t x64[2] = { 319, 322 }, a64[2] = { 279, 281 };
	uint64_t budget = MAX_CODE;
	unsigned found = 0;
	sw_elf_seg g;
	unsigned i;

	if (interp)
		return sw_elf_imports(e, "memfd_create") &&
		       (sw_elf_imports(e, "fexecve") || sw_elf_imports(e, "execveat"));
	if (e->machine != 62 && e->machine != 183) /* x86-64, arm64 */
		return false;
	for (i = 0; sw_elf_segment(e, i, &g) && budget && found != 3; i++) {
		const uint8_t *q;
		size_t len;
		/* the offset is the file's: checked before it makes a pointer */
		if (g.type != SW_PT_LOAD || !(g.flags & SW_PF_X) || g.off >= e->n)
			continue;
		q = e->p + g.off;
		len = g.filesz > e->n - g.off ? e->n - g.off : g.filesz;
		len = len > budget ? budget : len;
		budget -= len;
		found |= e->machine == 62 ? syscalls_x64(q, len, x64) : syscalls_a64(q, len, a64);
	}
	return found == 3;
}

/* A loader: runs a program from memory, carries a dense (compressed or
 * encrypted) payload over a fifth of its bytes, and, static, has no symbol
 * table left. Each alone is ordinary (busybox-static, Go programs, runc's
 * memfd re-exec); the weights add up to medium only together, and the
 * entrypoint chain raises a loader the image starts to high. */
static void loader_signals(const sw_elf *e, bool interp, const dense *d, bool dense_all, signals *s)
{
	uint64_t off, size;
	bool mem = runs_from_memory(e, interp), region = false;

	if (d->windows && !dense_all && d->dense * 5 >= d->windows) {
		s->dense_pct = (int)(100u * d->dense / d->windows);
		add(s, "dense data (compressed or encrypted) over a fifth of the file or more",
		    d->dense * 2 >= d->windows ? 2 : 1);
		region = true;
	}
	/* a dynamic program's imports are weaker than a static one's syscalls:
	 * Python imports both for os.memfd_create and os.execve(fd) */
	if (mem) {
		add(s, "runs a program from a memory file (memfd_create, then fexecve/execveat)", interp ? 1 : 2);
		s->loader = true;
	}
	if ((mem || region) && !interp && !sw_elf_section(e, ".symtab", &off, &size))
		add(s, "stripped: no symbol table", 1);
}

static void elf_signals(const uint8_t *p, size_t n, signals *s)
{
	bool interp, load0_bss, upx_marks, dense_all;
	uint64_t off, size;
	int loads;
	dense d;
	sw_elf e;

	if (!sw_elf_open(&e, p, n))
		return;
	elf_segments(&e, &interp, &load0_bss, &loads);
	if (!interp && e.type == SW_ET_EXEC)
		add(s, "statically linked executable", 1);
	upx_marks = has(p, n < 4096 ? n : 4096, "UPX!") || sw_elf_section(&e, "UPX0", &off, &size) ||
		    sw_elf_section(&e, "UPX1", &off, &size) || has_notice(p, n);
	if (upx_marks) {
		add(s, "UPX packer marks", 3);
		s->packed = true;
	}
	/* Entropy alone is weak: data tables (iconv, locales) are dense too.
	 * Without section headers it is the shape packers leave. */
	entropy(p, n, &d);
	dense_all = n >= 4096 && d.h > 7.3;
	if (dense_all) {
		add(s, "high entropy (compressed or encrypted content)", 1);
		if (e.shnum == 0) {
			add(s, "no section headers", 1);
			s->packed = true;
		}
		if (!upx_marks && e.shnum == 0 && load0_bss && loads >= 2)
			add(s, "UPX-shaped layout with the packer magic removed", 3);
	}
	/* programs, not libraries: a position-independent program names its
	 * interpreter, a library does not */
	if (e.type == SW_ET_EXEC || (e.type == SW_ET_DYN && interp))
		loader_signals(&e, interp, &d, dense_all, s);
}

static int heur_file(void *state, void *wstate, const sw_file *f, const uint8_t *data,
		     size_t len, sw_emit *out)
{
	signals s = { { 0 }, { 0 }, 0, 0, -1, false, false };
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
	if (s.dense_pct >= 0)
		sw_jw_kint(&w, "dense_percent", s.dense_pct);
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(f->mode & 07777));
	sw_jw_kstr(&w, "mode", mode);
	sw_jw_end(&w);
	/* a failed append leaves half an object: never emitted as evidence */
	if ((rc = sw_jw_done(&w)) == 0)
		rc = sw_emit_finding(out, s.packed ? "SW-HEUR-PACKED" : s.loader ? "SW-HEUR-LOADER" :
				     "SW-HEUR-SUSPICIOUS-FILE", sev,
				     s.packed || s.loader ? "packed" : "suspicious-config",
				     s.packed ? "Packed executable with suspicious traits" :
				     s.loader ? "Loader: runs a program from memory, with packer traits" :
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
