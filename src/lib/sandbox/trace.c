/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tracing by seccomp user notification. The filter (installed by the
 * sandboxed command just before it runs the image's program) lets almost
 * every syscall through untouched; the ones below stop and wait for the
 * supervisor, which reads their arguments from the caller's memory,
 * records an event and answers: "continue" for the traced ones, EPERM for
 * the escape ones. Only these syscalls pay for a round trip.
 *
 * Reading arguments is racy by nature (another thread of the caller may
 * change the memory between our read and the kernel's): what the tracer
 * records is evidence, and isolation does not rest on it. The namespaces,
 * the missing network and the refused syscalls are what hold.
 *
 * Execs are not left to that race: the calling thread is seized with
 * ptrace (PTRACE_O_TRACEEXEC only) before the call goes on, and the
 * record is made at the exec stop, from the file the kernel ran
 * (/proc/<pid>/exe) and the interpreter chain; then it is let go. An exec
 * that fails is recorded from what it asked for.
 *
 * Nor are file calls: an open, rename, link or symlink is followed to its
 * return the same way (seized, interrupted, stopped on its way back) and
 * judged by the object it reached ("objects" below).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sandbox_int.h"
#include "../detect/mining.h"

enum { T_TRACE, T_BLOCK };

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SW_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, uint64_t)
#else
#define SW_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOCTL_NOTIF_SET_FLAGS
#endif
#define SW_NOTIF_FD_SYNC_WAKE_UP 1
#define SW_FILTER_WAIT_KILLABLE_RECV (1UL << 5)

typedef struct sys_entry {
	int nr;
	const char *name;
	int kind;
} sys_entry;

#define S(n, k) { SYS_##n, #n, k }
static const sys_entry systab[] = {
	S(execve, T_TRACE), S(execveat, T_TRACE), S(connect, T_TRACE), S(sendmsg, T_TRACE),
	S(sendmmsg, T_TRACE), S(bind, T_TRACE), S(listen, T_TRACE), S(open, T_TRACE),
	S(openat, T_TRACE), S(openat2, T_TRACE), S(creat, T_TRACE), S(rename, T_TRACE),
	S(renameat, T_TRACE), S(renameat2, T_TRACE), S(memfd_create, T_TRACE), S(chmod, T_TRACE),
	S(fchmodat, T_TRACE), S(fchmod, T_TRACE), S(symlink, T_TRACE), S(symlinkat, T_TRACE),
	S(link, T_TRACE), S(linkat, T_TRACE), S(ptrace, T_TRACE),
	/* refused: what a container never needs, and the ways out */
	S(mount, T_BLOCK), S(umount2, T_BLOCK), S(pivot_root, T_BLOCK), S(chroot, T_BLOCK),
	S(unshare, T_BLOCK), S(setns, T_BLOCK), S(init_module, T_BLOCK), S(finit_module, T_BLOCK),
	S(delete_module, T_BLOCK), S(kexec_load, T_BLOCK), S(kexec_file_load, T_BLOCK), S(bpf, T_BLOCK),
	S(perf_event_open, T_BLOCK), S(keyctl, T_BLOCK), S(add_key, T_BLOCK), S(request_key, T_BLOCK),
	S(open_by_handle_at, T_BLOCK), S(name_to_handle_at, T_BLOCK), S(reboot, T_BLOCK),
	S(swapon, T_BLOCK), S(swapoff, T_BLOCK), S(syslog, T_BLOCK), S(iopl, T_BLOCK), S(ioperm, T_BLOCK),
	S(acct, T_BLOCK), S(settimeofday, T_BLOCK), S(clock_settime, T_BLOCK), S(clock_adjtime, T_BLOCK),
	S(adjtimex, T_BLOCK), S(fsopen, T_BLOCK), S(fsconfig, T_BLOCK), S(fsmount, T_BLOCK),
	S(move_mount, T_BLOCK), S(open_tree, T_BLOCK), S(fspick, T_BLOCK), S(mount_setattr, T_BLOCK),
	S(quotactl, T_BLOCK), S(lookup_dcookie, T_BLOCK), S(userfaultfd, T_BLOCK), S(vhangup, T_BLOCK),
	S(uselib, T_BLOCK),
	/* io_uring performs opens, connects and sends without a syscall the
	 * filter could see: refused, as container runtimes do */
	S(io_uring_setup, T_BLOCK), S(io_uring_enter, T_BLOCK), S(io_uring_register, T_BLOCK),
};
#undef S

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
		  CLONE_NEWCGROUP)
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)

int sw_seccomp_install(int *listener)
{
	struct sock_filter f[256];
	struct sock_fprog prog;
	size_t n = 0, i;
	int fd;

#define ADD(x) (f[n++] = (struct sock_filter)x)
	/* i386 and x32 calls use other syscall tables: to the supervisor,
	 * which records and refuses them (a 32-bit program cannot run) */
	ADD(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
	ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	ADD(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
	ADD(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
	ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	/* clone with namespace flags: to the supervisor (refused there) */
	ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4));
	ADD(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)));
	ADD(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1));
	ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	/* socket families other than unix, inet, inet6 and netlink (vsock
	 * reaches the hypervisor on kernels without its namespacing; packet
	 * and raw need capabilities we dropped): to the supervisor, refused */
	ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 7));
	ADD(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)));
	ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 4, 0));
	ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 3, 0));
	ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 2, 0));
	ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 1, 0));
	ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	/* clone3 hides its flags behind a pointer: ENOSYS, libc falls back */
	ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1));
	ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
	/* sendto on a connected socket (no address): not worth a stop */
	ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sendto, 0, 6));
	ADD(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(4)));
	ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3));
	ADD(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_HI(4)));
	ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));
	ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	for (i = 0; i < sizeof(systab) / sizeof(systab[0]); i++) {
		ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)systab[i].nr, 0, 1));
		ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	}
	ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
#undef ADD
	prog.len = (unsigned short)n;
	prog.filter = f;
	/* once the supervisor has a notification, the caller's wait for the
	 * answer is killable only (Linux 5.19): the interrupt that follows a
	 * call to its return (follow_begin) then waits for the answer instead
	 * of abandoning the call. Older kernels: without, and a followed call
	 * is restarted once, then recorded by its name. */
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  SECCOMP_FILTER_FLAG_NEW_LISTENER | SW_FILTER_WAIT_KILLABLE_RECV, &prog);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0)
		return -1;
	*listener = fd;
	return 0;
}

/* ---- the tracer ---- */

#define MAX_PIDS 4096
#define MAX_SEEN 4096
#define MAX_ARGV 64
#define ARG_BYTES 1024
/* An exec event's arguments, as JSON text: escaping makes a byte up to
 * six, so 64 arguments of 1 KiB could take 384 KiB; a name (4 KiB, up to
 * 24 KiB escaped) plus this stays well inside SW_EV_LINE_MAX. */
#define ARGV_TEXT (24u << 10)
/* Of an exec's environment, at most MAX_ENV entries are read and those
 * that name mining settings kept, in at most ENV_TEXT bytes. */
#define MAX_ENV 128
#define ENV_TEXT (8u << 10)

/* Execs being followed to the kernel's exec stop (at most MAX_PENDING
 * at once; beyond, recorded from their request). */
#define MAX_PENDING 64
typedef struct exec_req exec_req;
typedef struct follow follow;

/* What an exec asked for, read from the caller at its stop: the name,
 * the arguments (JSON), the descriptor's target for an fd exec. */
struct exec_req {
	pid_t tid, tgid;        /* tid 0: a free slot */
	uint64_t since;         /* monotonic ns of the request */
	bool failed;            /* the thread made another call: the exec returned */
	bool interrupted;       /* PTRACE_INTERRUPT sent */
	bool cut;               /* argv truncated */
	bool at_empty;          /* execveat(fd, "", AT_EMPTY_PATH) */
	int dirfd;
	char path[4096];        /* as asked */
	char absp[4200];        /* made absolute, lexically */
	char target[256];       /* fd exec: the descriptor's target */
	char *argv;             /* JSON array text */
	char *env;              /* the entries with mining settings (JSON array), or NULL */
};

/* Calls followed to their return (opens, renames, links, symlinks; see
 * "objects" below). */
#define MAX_FOLLOW 32
#define MAX_RESTARTED 16

struct follow {
	pid_t tid;              /* 0: a free slot */
	bool dying;             /* recorded, killed before we let it go: to be reaped */
	int nr;                 /* the call */
	uint64_t since;         /* monotonic ns */
	uint64_t flags;         /* an open's */
	int dirfd;              /* the name's (rename, link, symlink: the new name's) */
	int fromdirfd;          /* rename, link: the source's */
	int src;                /* ours, O_PATH: a rename's or link's source, or -1 */
	dev_t dev;              /* a link's source */
	ino_t ino;
	char srcpath[4200];     /* where src was before the call */
	char name[4096];        /* as read */
	char from[4096];        /* rename, link: the source's name; symlink: the target */
};

typedef struct pident {
	pid_t host;             /* 0 empty, -1 forgotten */
	pid_t tgid;
	int ns, nsppid;
} pident;

struct sw_tracer {
	int fd, artdir, hostproc;
	uint64_t max_artifact;
	sw_evlog *log;
	sw_sink *sink;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	pident pids[MAX_PIDS];
	char *written[MAX_SEEN];   /* paths created or written since the start */
	size_t nwritten;
	char *seen[MAX_SEEN];      /* "kind dst port" already recorded, with counts */
	unsigned seen_count[MAX_SEEN];
	size_t nseen;
	uint16_t seen_at[2 * MAX_SEEN]; /* open addressing over seen: index + 1, 0 empty */
	char *copied[1024];        /* sha256 of executables already copied */
	size_t ncopied;
	uint64_t copied_bytes;     /* bounded: 16 times the per-file bound */
	struct timespec start;     /* files modified since were written by the sandbox */
	exec_req *pending;         /* MAX_PENDING */
	size_t npending;
	follow *fl;                /* MAX_FOLLOW calls followed to their return */
	size_t nfollow;
	follow *cur;               /* the one the notification being answered began */
	pid_t restarted[MAX_RESTARTED]; /* threads whose followed call was cut short */
	unsigned nrestarted;
	sw_evb ev;
};

int sw_tracer_new(sw_tracer **out, int notify_fd, sw_evlog *log, sw_sink *sink, int artifacts_dir,
		  int hostproc, uint64_t max_artifact)
{
	struct seccomp_notif_sizes sz;
	sw_tracer *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t || syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0 ||
	    !(t->pending = calloc(MAX_PENDING, sizeof(*t->pending))) ||
	    !(t->fl = calloc(MAX_FOLLOW, sizeof(*t->fl))) ||
	    !(t->req = calloc(1, sz.seccomp_notif > sizeof(*t->req) ? sz.seccomp_notif : sizeof(*t->req))) ||
	    !(t->resp = calloc(1, sz.seccomp_notif_resp > sizeof(*t->resp) ? sz.seccomp_notif_resp
									 : sizeof(*t->resp)))) {
		if (t) {
			free(t->req);
			free(t->fl);
			free(t->pending);
			free(t);
		}
		return -1;
	}
	t->fd = notify_fd;
	/* wake the supervisor on the caller's CPU and switch straight to it
	 * (Linux 6.6): halves a stop's cost; older kernels refuse, no harm */
	(void)ioctl(notify_fd, SW_IOCTL_NOTIF_SET_FLAGS, (unsigned long)SW_NOTIF_FD_SYNC_WAKE_UP); /* by value */
	t->log = log;
	t->sink = sink;
	t->artdir = artifacts_dir;
	t->hostproc = hostproc;
	t->max_artifact = max_artifact;
	clock_gettime(CLOCK_REALTIME, &t->start);
	t->ev.b = (sw_buf)SW_BUF_INIT(2 << 20);
	*out = t;
	return 0;
}

int sw_tracer_fd(const sw_tracer *t) { return t->fd; }

/* ---- pids: the host's view -> the sandbox's ---- */

/* From /proc/<host>/status: the pid in the sandbox (last NSpid), the
 * parent's host pid, the thread group. */
static int read_status(sw_tracer *t, pid_t host, int *nspid, pid_t *ppid, pid_t *tgid)
{
	char name[64], buf[2048], *p;
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "%d/status", (int)host);
	if ((fd = openat(t->hostproc, name, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	*nspid = 0;
	*ppid = 0;
	*tgid = host;
	if ((p = strstr(buf, "\nTgid:")))
		*tgid = (pid_t)strtol(p + 6, NULL, 10);
	if ((p = strstr(buf, "\nPPid:")))
		*ppid = (pid_t)strtol(p + 6, NULL, 10);
	if ((p = strstr(buf, "\nNSpid:"))) {
		char *e = strchr(p + 1, '\n'), *last = p + 7;
		for (char *q = p + 7; q < (e ? e : buf + n); q++)
			if (*q == '\t' || *q == ' ')
				last = q + 1;
		*nspid = (int)strtol(last, NULL, 10);
	}
	return 0;
}

/* The cached identity of a host pid (a thread's too), read once: a
 * small open-addressed table, 8 probes, the home slot evicted when full. */
static const pident *pid_entry(sw_tracer *t, pid_t host)
{
	unsigned h = (unsigned)host % MAX_PIDS, k;
	pident *free_slot = NULL, *e;
	pid_t pp, tg, x1;
	int ns, pns;

	for (k = 0; k < 8; k++) {
		e = &t->pids[(h + k) % MAX_PIDS];
		if (e->host == host)
			return e;
		if (!free_slot && e->host <= 0)
			free_slot = e;
	}
	if (read_status(t, host, &ns, &pp, &tg) < 0)
		return NULL;
	e = free_slot ? free_slot : &t->pids[h];
	e->host = host;
	e->ns = ns;
	e->tgid = tg;
	e->nsppid = pp > 0 && read_status(t, pp, &pns, &x1, &x1) == 0 ? pns : 0;
	return e;
}

int sw_tracer_nspid(sw_tracer *t, pid_t host)
{
	const pident *e = pid_entry(t, host);
	return e ? e->ns : 0;
}

static int nsppid(sw_tracer *t, pid_t host)
{
	const pident *e = pid_entry(t, host);
	return e ? e->nsppid : 0;
}

/* A process that exec'd: its parent may have changed (reparenting), and a
 * reused pid must not keep an old entry. */
static void pid_forget(sw_tracer *t, pid_t host)
{
	unsigned h = (unsigned)host % MAX_PIDS, k;

	for (k = 0; k < 8; k++)
		if (t->pids[(h + k) % MAX_PIDS].host == host)
			t->pids[(h + k) % MAX_PIDS].host = -1; /* tombstone */
}

/* ---- the caller's memory ---- */

static ssize_t mem_read(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec l = { buf, n }, r = { (void *)(uintptr_t)addr, n };

	if (addr == 0)
		return -1;
	return process_vm_readv(pid, &l, 1, &r, 1, 0);
}

/* A NUL-terminated string, page by page (a string may end right before an
 * unmapped page). Returns its length, -1 when unreadable; truncated at max-1. */
static ssize_t mem_str(pid_t pid, uint64_t addr, char *out, size_t max)
{
	size_t got = 0;

	if (addr == 0)
		return -1;
	while (got < max - 1) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		ssize_t r;
		char *z;
		if (chunk > max - 1 - got)
			chunk = max - 1 - got;
		if ((r = mem_read(pid, addr + got, out + got, chunk)) <= 0) {
			out[got] = 0;
			return got ? (ssize_t)got : -1;
		}
		if ((z = memchr(out + got, 0, (size_t)r)))
			return (ssize_t)(z - out);
		got += (size_t)r;
	}
	out[got] = 0;
	return (ssize_t)got;
}

static bool still_valid(sw_tracer *t)
{
	return ioctl(t->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &t->req->id) == 0;
}

/* ---- paths as the caller sees them ---- */

/* The path of the caller's descriptor, or of its cwd (fd = AT_FDCWD). */
static int fd_path(sw_tracer *t, pid_t pid, int fd, char *out, size_t n)
{
	char name[64];
	ssize_t r;

	if (fd == AT_FDCWD)
		snprintf(name, sizeof(name), "%d/cwd", (int)pid);
	else
		snprintf(name, sizeof(name), "%d/fd/%d", (int)pid, fd);
	if ((r = readlinkat(t->hostproc, name, out, n - 1)) < 0)
		return -1;
	out[r] = 0;
	return 0;
}

/* The device nodes and links the sandbox's /dev holds: writes there are
 * not news (/dev/shm is a place to drop files, and is not skipped). */
static bool our_dev(const char *p)
{
	static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
					    "/dev/tty", "/dev/stdout", "/dev/stderr", "/dev/stdin" };
	size_t i;

	if (strncmp(p, "/dev/fd/", 8) == 0)
		return true;
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		if (strcmp(p, devs[i]) == 0)
			return true;
	return false;
}

/* "//tmp/./a/../x" -> "/tmp/x", in place (lexically, as a record). */
static void normalise(char *p)
{
	char *out = p, *in = p;

	if (*p != '/')
		return;
	while (*in) {
		while (*in == '/')
			in++;
		if (!*in)
			break;
		if (in[0] == '.' && (in[1] == '/' || !in[1])) {
			in += 1;
			continue;
		}
		if (in[0] == '.' && in[1] == '.' && (in[2] == '/' || !in[2])) {
			while (out > p && *--out != '/')
				;
			in += 2;
			continue;
		}
		*out++ = '/';
		while (*in && *in != '/')
			*out++ = *in++;
	}
	if (out == p)
		*out++ = '/';
	*out = 0;
}

/* dirfd + path -> an absolute path in the sandbox (lexically). */
static void abs_path(sw_tracer *t, pid_t pid, int dirfd, const char *path, char *out, size_t n)
{
	char base[4096];

	if (path[0] == '/' || fd_path(t, pid, dirfd, base, sizeof(base)) < 0 || base[0] != '/')
		snprintf(out, n, "%s", path);
	else
		snprintf(out, n, "%s%s%s", base, strcmp(base, "/") == 0 ? "" : "/", path);
	normalise(out);
}

/* Open what the caller names, as it would (from its cwd or dirfd; its
 * /proc/self is not ours). Read-only, never blocking on a FIFO. */
/* "/proc/self/fd/N", "/proc/thread-self/fd/N", "/dev/fd/N": N, else -1. */
static int self_fd_path(const char *path)
{
	static const char *const pre[] = { "/proc/self/fd/", "/proc/thread-self/fd/", "/dev/fd/" };
	size_t i;

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t l = strlen(pre[i]);
		const char *q = path + l;
		if (strncmp(path, pre[i], l) != 0 || !*q || strlen(q) > 9)
			continue;
		for (; *q; q++)
			if (*q < '0' || *q > '9')
				return -1;
		return (int)strtol(path + l, NULL, 10);
	}
	return -1;
}

/* A relative name opened (with flags) from the caller's cwd (dirfd
 * AT_FDCWD) or its descriptor dirfd, reached through the host's /proc. */
static int open_from(sw_tracer *t, pid_t pid, int dirfd, const char *name, int flags)
{
	char base[64];
	int d, fd;

	if (dirfd == AT_FDCWD)
		snprintf(base, sizeof(base), "%d/cwd", (int)pid);
	else
		snprintf(base, sizeof(base), "%d/fd/%d", (int)pid, dirfd);
	if ((d = openat(t->hostproc, base, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	fd = openat(d, name, flags | O_CLOEXEC);
	close(d);
	return fd;
}

/* Open what the caller names, as it would: the tracer thread lives in the
 * sandbox's mount namespace, so absolute paths and ".." stay inside it;
 * only the caller's own descriptors are reached through the host's /proc,
 * by number and nothing else. Read-only, never blocking on a FIFO. */
static int open_as(sw_tracer *t, pid_t pid, int dirfd, const char *path, bool empty_path)
{
	char name[64];
	int n = empty_path ? dirfd : self_fd_path(path);

	if (empty_path || n >= 0) {
		if (n < 0)
			return -1;
		snprintf(name, sizeof(name), "%d/fd/%d", (int)pid, n);
		return openat(t->hostproc, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	}
	if (path[0] == '/')
		return open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	return open_from(t, pid, dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
}

static bool in_list(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static void remember(char **v, size_t *n, size_t max, const char *s)
{
	char *d;

	if (*n < max && !in_list(v, *n, s) && (d = strdup(s)))
		v[(*n)++] = d;
}

/* First few occurrences of a key are recorded, the rest only counted. */
static bool first_time(sw_tracer *t, const char *key, unsigned keep)
{
	size_t k;

	/* hashed: a program can make every traced call a new key */
	for (k = sw_sbx_hash(key) & (2 * MAX_SEEN - 1); t->seen_at[k]; k = (k + 1) & (2 * MAX_SEEN - 1)) {
		size_t i = t->seen_at[k] - 1u;
		if (strcmp(t->seen[i], key) == 0)
			return ++t->seen_count[i] <= keep;
	}
	if (t->nseen < MAX_SEEN && (t->seen[t->nseen] = strdup(key))) {
		t->seen_count[t->nseen] = 1;
		t->seen_at[k] = (uint16_t)(++t->nseen);
	}
	return true; /* a full table records everything (main bounds what the timeline keeps) */
}

/* ---- what an executed file is ---- */

/* pidfd_open wants a thread group leader; notifications name threads. */
static int pidfd_of(sw_tracer *t, pid_t tid)
{
	const pident *e = pid_entry(t, tid);
	return (int)syscall(SYS_pidfd_open, e ? e->tgid : tid, 0);
}

static const char *socket_kind(sw_tracer *t, pid_t pid, int fd)
{
	char target[128];
	int pfd, dup, dom = 0;
	socklen_t l = sizeof(dom);

	if (fd_path(t, pid, fd, target, sizeof(target)) < 0 || strncmp(target, "socket:", 7) != 0)
		return NULL;
	if ((pfd = pidfd_of(t, pid)) < 0)
		return "socket";
	dup = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	close(pfd);
	if (dup < 0)
		return "socket";
	if (getsockopt(dup, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0)
		dom = 0;
	close(dup);
	return dom == AF_INET || dom == AF_INET6 ? "inet" : dom == AF_UNIX ? "unix" : "socket";
}

/* Hash the file and keep a copy for the static detectors (once per
 * content). Writes ,"sha256":..,"size":.. (and why it was not kept). */
/* Hash the file and keep a copy for the static detectors (once per
 * content), reading at most the per-file bound: a larger file is recorded
 * by size and reported unscanned (reading gigabytes here would hold the
 * tracer). Also: written during the run (mtime), a memfd. */
static void exec_file(sw_tracer *t, int fd, sw_evb *b, bool *dropped)
{
	struct stat st;
	uint8_t buf[65536], d[SW_SHA256_LEN];
	char hex[SW_SHA256_LEN * 2 + 1], tmp[96], name[64], link[64];
	sw_sha256 *h;
	uint64_t total = 0;
	int out = -1;
	ssize_t r;

	snprintf(name, sizeof(name), "%d/fd/%d", (int)getpid(), fd);
	if ((r = readlinkat(t->hostproc, name, link, sizeof(link) - 1)) > 0) {
		link[r] = 0;
		if (strncmp(link, "/memfd:", 7) == 0)
			sw_ev_int(b, "memfd", 1);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		sw_ev_str(b, "file", "not a regular file", 32);
		return;
	}
	if (st.st_mtim.tv_sec > t->start.tv_sec ||
	    (st.st_mtim.tv_sec == t->start.tv_sec && st.st_mtim.tv_nsec > t->start.tv_nsec))
		*dropped = true; /* written since the tracer started */
	if ((uint64_t)st.st_size > t->max_artifact) {
		sw_ev_int(b, "size", (int64_t)st.st_size);
		sw_ev_str(b, "not_scanned", "larger than the bound on executed files kept for the static scan", 80);
		return;
	}
	if (!(h = sw_sha256_new()))
		return;
	snprintf(tmp, sizeof(tmp), ".part.%d", (int)getpid());
	if (t->copied_bytes + (uint64_t)st.st_size <= 16 * t->max_artifact)
		out = openat(t->artdir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	while (total <= t->max_artifact && (r = read(fd, buf, sizeof(buf))) > 0) {
		sw_sha256_update(h, buf, (size_t)r);
		total += (uint64_t)r;
		if (out >= 0 && (total > t->max_artifact || sw_write_all(out, buf, (size_t)r) < 0)) {
			close(out);
			out = -1;
			unlinkat(t->artdir, tmp, 0);
		}
	}
	sw_sha256_final(h, d);
	sw_sha256_free(h);
	if (total > t->max_artifact) { /* it grew while we read */
		if (out >= 0) {
			close(out);
			unlinkat(t->artdir, tmp, 0);
		}
		sw_ev_int(b, "size", (int64_t)total);
		sw_ev_str(b, "not_scanned", "larger than the bound on executed files kept for the static scan", 80);
		return;
	}
	sw_hex(d, sizeof(d), hex);
	sw_ev_str(b, "sha256", hex, sizeof(hex));
	sw_ev_int(b, "size", (int64_t)total);
	if (out >= 0) {
		close(out);
		if (!in_list(t->copied, t->ncopied, hex) && t->ncopied < 1024) {
			if (renameat(t->artdir, tmp, t->artdir, hex) == 0) {
				t->copied[t->ncopied++] = strdup(hex);
				t->copied_bytes += total;
			}
		} else {
			unlinkat(t->artdir, tmp, 0);
		}
	} else if (!in_list(t->copied, t->ncopied, hex)) {
		sw_ev_str(b, "not_scanned", "beyond the bound on executed files kept for the static scan", 80);
	}
}

/* The strings of the NULL-terminated array at vp in pid's memory, as a
 * JSON array of at most limit bytes: at most max of them (each cut at
 * ARG_BYTES - 1), those keep declines left out (keep NULL: all); the
 * number kept in *kept. *cut is set when the array or a string was cut
 * short. NULL when the array cannot be written. */
static char *strv_read(pid_t pid, uint64_t vp, unsigned max, size_t limit, bool (*keep)(const char *, size_t),
		       unsigned *kept, bool *cut)
{
	char arg[ARG_BYTES], *out;
	sw_buf av = SW_BUF_INIT(limit), one = SW_BUF_INIT(ARG_BYTES * 6 + 8); /* every byte escaped */
	sw_jw w = SW_JW_INIT(&av);
	unsigned i;

	*kept = 0;
	sw_jw_arr(&w);
	for (i = 0; i <= max; i++) {
		uint64_t p;
		ssize_t l;
		if (mem_read(pid, vp + 8 * i, &p, 8) != 8 || p == 0)
			break;
		if (i == max || (l = mem_str(pid, p, arg, sizeof(arg))) < 0) {
			*cut |= i == max;
			break;
		}
		if (keep && !keep(arg, (size_t)l))
			continue;
		sw_buf_reset(&one);
		sw_jsonw_strn(&one, arg, (size_t)l);
		if (av.len + one.len + 2 > limit) {
			*cut = true;
			break;
		}
		*cut |= (size_t)l == sizeof(arg) - 1;
		sw_jw_raw(&w, sw_buf_cstr(&one));
		(*kept)++;
	}
	sw_buf_release(&one);
	sw_jw_end(&w);
	out = sw_jw_done(&w) < 0 ? NULL : sw_buf_detach(&av, NULL);
	sw_buf_release(&av);
	return out;
}

/* An environment entry that names mining settings (a pool, miner
 * options, a wallet: the static config analysis's reading). The rest of
 * an environment is not news and would fill every exec event. */
static bool env_mining(const char *v, size_t l)
{
	sw_mining_hit h;

	sw_detect__mining(v, l, &h);
	return h.pool || h.option || h.wallet;
}

static void exec_req_free(exec_req *q)
{
	free(q->argv);
	free(q->env);
	q->argv = q->env = NULL;
}

static void exec_req_read(sw_tracer *t, pid_t pid, const struct seccomp_data *sd, exec_req *q)
{
	bool at = sd->nr == SYS_execveat;
	int flags = at ? (int)sd->args[4] : 0;
	uint64_t argvp = sd->args[at ? 2 : 1];
	unsigned n;
	bool env_cut = false;

	q->dirfd = at ? (int)sd->args[0] : AT_FDCWD;
	q->cut = false;
	if (mem_str(pid, sd->args[at ? 1 : 0], q->path, sizeof(q->path)) < 0)
		q->path[0] = 0;
	q->at_empty = q->path[0] == 0 && (flags & AT_EMPTY_PATH);
	q->argv = strv_read(pid, argvp, MAX_ARGV, ARGV_TEXT, NULL, &n, &q->cut);
	/* of the environment, only the entries with mining settings */
	q->env = strv_read(pid, sd->args[at ? 3 : 2], MAX_ENV, ENV_TEXT, env_mining, &n, &env_cut);
	if (q->env && !n) {
		free(q->env);
		q->env = NULL;
	}
	abs_path(t, pid, q->dirfd, q->path, q->absp, sizeof(q->absp));
	q->target[0] = 0;
	if (q->at_empty && fd_path(t, pid, q->dirfd, q->target, sizeof(q->target)) < 0)
		q->target[0] = 0;
}

/* The fields both kinds of exec event share: what was asked, and the
 * descriptors 0 and 1 of who runs (a socket there: a reverse shell). */
static void exec_common(sw_tracer *t, pid_t pid, const exec_req *q, sw_evb *b)
{
	const char *k0, *k1;

	sw_ev_raw(b, "argv", q->argv ? q->argv : "[]");
	if (q->cut)
		sw_ev_int(b, "argv_truncated", 1); /* more arguments, or longer, than kept */
	if (q->env)
		sw_ev_raw(b, "env", q->env);
	if (q->target[0])
		sw_ev_str(b, "fd_target", q->target, sizeof(q->target));
	if ((k0 = socket_kind(t, pid, 0)))
		sw_ev_str(b, "stdin", k0, 16);
	if ((k1 = socket_kind(t, pid, 1)))
		sw_ev_str(b, "stdout", k1, 16);
}

/* The file fd (closed here; -1: missing, and why) hashed and kept,
 * "dropped" when it was written during the run. */
static void file_fields(sw_tracer *t, sw_evb *b, int fd, bool dropped, const char *missing)
{
	if (fd >= 0) {
		exec_file(t, fd, b, &dropped);
		close(fd);
	} else {
		sw_ev_str(b, "file", missing, 16);
	}
	if (dropped)
		sw_ev_int(b, "dropped", 1);
}

/* An exec the kernel did not confirm (it failed, or the tracer could not
 * follow it): recorded from what it asked for, the file opened by name. */
static void exec_asked(sw_tracer *t, pid_t pid, const exec_req *q, bool failed)
{
	sw_evb *b = &t->ev;

	sw_ev_begin(t->log, b, "exec", sw_tracer_nspid(t, pid), nsppid(t, pid));
	sw_ev_str(b, "path", q->path[0] ? q->absp : "", sizeof(q->absp));
	exec_common(t, pid, q, b);
	if (failed)
		sw_ev_int(b, "failed", 1);
	file_fields(t, b, open_as(t, pid, q->dirfd, q->path, q->at_empty), in_list(t->written, t->nwritten, q->absp),
		    "not found");
	sw_ev_end(t->log, b);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* A path a process names, opened as that process would: its /proc/self
 * is the sandbox's /proc/<its pid there> (ours does not resolve), and a
 * relative path starts at its working directory. */
static int open_proc_path(sw_tracer *t, pid_t pid, const char *path)
{
	static const char *const self[] = { "/proc/self/", "/proc/thread-self/" };
	char p[4200];
	size_t i;

	for (i = 0; i < sizeof(self) / sizeof(self[0]); i++) {
		size_t l = strlen(self[i]);
		if (strncmp(path, self[i], l) == 0 && self_fd_path(path) < 0) {
			snprintf(p, sizeof(p), "/proc/%d/%s", sw_tracer_nspid(t, pid), path + l);
			return open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		}
	}
	return open_as(t, pid, AT_FDCWD, path, false);
}

/* The file an interpreter was given: the first argument after its
 * options (those in takes_arg take the next argument), or NULL when an
 * option in no_file means a command string or a module, not a file. */
static const char *script_arg(char **av, int ac, const char *const *takes_arg, const char *const *no_file)
{
	int i;
	size_t k;

	for (i = 1; i < ac; i++) {
		const char *a = av[i];
		if (strcmp(a, "--") == 0)
			return i + 1 < ac ? av[i + 1] : NULL;
		if (a[0] != '-' && a[0] != '+')
			return a;
		for (k = 0; no_file[k]; k++)
			if (strcmp(a, no_file[k]) == 0 || (no_file[k][1] != '-' && strncmp(a, no_file[k], 2) == 0 && a[1] != '-'))
				return NULL;
		for (k = 0; takes_arg[k]; k++)
			if (strcmp(a, takes_arg[k]) == 0) {
				i++;
				break;
			}
	}
	return NULL;
}

/* The program an interpreter or loader runs, by the executable's name:
 * ld.so's first non-option argument, a script given to a shell, python,
 * node, perl or ruby. NULL: none (or not an interpreter). */
static const char *interpreted(const char *exe, char **av, int ac, const char **role)
{
	static const char *const ld_arg[] = { "--library-path", "--inhibit-rpath", "--audit", "--preload", "--argv0",
					       "--glibc-hwcaps-prepend", "--glibc-hwcaps-mask", NULL };
	static const char *const ld_nofile[] = { NULL };
	static const char *const sh_arg[] = { "-o", "+o", NULL };
	static const char *const sh_nofile[] = { "-c", NULL };
	static const char *const py_arg[] = { "-W", "-X", "-Q", "--check-hash-based-pycs", NULL };
	static const char *const py_nofile[] = { "-c", "-m", NULL };
	static const char *const js_arg[] = { "-r", "--require", "--import", "--loader", "--experimental-loader", NULL };
	static const char *const js_nofile[] = { "-e", "-p", "--eval", "--print", NULL };
	static const char *const pl_arg[] = { "-I", "-M", "-m", NULL };
	static const char *const pl_nofile[] = { "-e", "-E", NULL };
	const char *bn = base_name(exe);

	if (strncmp(bn, "ld-linux", 8) == 0 || strncmp(bn, "ld.so", 5) == 0 || strncmp(bn, "ld-musl", 7) == 0) {
		*role = "program";
		return script_arg(av, ac, ld_arg, ld_nofile);
	}
	*role = "script";
	if (!strcmp(bn, "sh") || !strcmp(bn, "bash") || !strcmp(bn, "dash") || !strcmp(bn, "ash") ||
	    !strcmp(bn, "zsh") || !strcmp(bn, "ksh") || !strcmp(bn, "mksh"))
		return script_arg(av, ac, sh_arg, sh_nofile);
	if (strncmp(bn, "python", 6) == 0 || strncmp(bn, "pypy", 4) == 0)
		return script_arg(av, ac, py_arg, py_nofile);
	if (!strcmp(bn, "node") || !strcmp(bn, "nodejs") || !strcmp(bn, "bun") || !strcmp(bn, "deno"))
		return script_arg(av, ac, js_arg, js_nofile);
	if (strncmp(bn, "perl", 4) == 0 || strncmp(bn, "ruby", 4) == 0)
		return script_arg(av, ac, pl_arg, pl_nofile);
	return NULL;
}

/* One file of the chain, fd (closed here):
 * {"role":..,"path":..,"sha256":..,"size":..}. */
static void chain_file(sw_tracer *t, sw_evb *b, const char *role, const char *path, int fd)
{
	sw_jw_obj(&b->w);
	sw_jw_kstr(&b->w, "role", role);
	sw_ev_str(b, "path", path, 4096);
	file_fields(t, b, fd, in_list(t->written, t->nwritten, path), "not found");
	sw_jw_end(&b->w);
}

/* /proc/<pid>/cmdline after the exec: the arguments the kernel built
 * (for a #! script: interpreter, its argument, the script). At most
 * MAX_ARGV of them, into buf. */
static int kernel_argv(sw_tracer *t, pid_t pid, char *buf, size_t n, char **av)
{
	char name[64];
	ssize_t r;
	int fd, ac = 0;
	size_t i = 0;

	snprintf(name, sizeof(name), "%d/cmdline", (int)pid);
	if ((fd = openat(t->hostproc, name, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	r = read(fd, buf, n - 1);
	close(fd);
	if (r <= 0)
		return 0;
	buf[r] = 0;
	while (i < (size_t)r && ac < MAX_ARGV) {
		av[ac++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	return ac;
}

/* The files an exec ran besides its executable: a #! script (the name
 * asked for, when the kernel ran an interpreter for it), then the script
 * or program the interpreter was given; each hashed and kept once. */
static void exec_chain(sw_tracer *t, pid_t pid, const exec_req *q, const char *exe, sw_evb *b)
{
	char cmd[8192], head[2], *av[MAX_ARGV];
	const char *role, *arg, *done = NULL;
	int ac = kernel_argv(t, pid, cmd, sizeof(cmd), av), fd;
	bool open_arr = false;

	if (q->path[0] && strcmp(q->absp, exe) != 0 &&
	    (fd = open_as(t, pid, q->dirfd, q->path, false)) >= 0) {
		if (pread(fd, head, 2, 0) == 2 && head[0] == '#' && head[1] == '!') {
			sw_jw_karr(&b->w, "chain");
			open_arr = true;
			chain_file(t, b, "script", q->absp, fd);
			done = q->absp;
		} else {
			close(fd);
		}
	}
	if (ac > 0 && (arg = interpreted(exe, av, ac, &role)) && (!done || strcmp(arg, done) != 0)) {
		char absa[4200];
		abs_path(t, pid, AT_FDCWD, arg, absa, sizeof(absa));
		if ((!done || strcmp(absa, done) != 0) && (fd = open_proc_path(t, pid, arg)) >= 0) {
			if (!open_arr)
				sw_jw_karr(&b->w, "chain");
			open_arr = true;
			chain_file(t, b, role, absa, fd);
		}
	}
	if (open_arr)
		sw_jw_end(&b->w);
}

/* An exec the kernel made, at its ptrace exec stop (the new image loaded,
 * nothing of it run yet): the file is the process's own executable,
 * whatever name was asked or swapped in; a memfd or a deleted file is
 * recorded as such, with its content. */
static void exec_done(sw_tracer *t, pid_t pid, const exec_req *q)
{
	sw_evb *b = &t->ev;
	char name[64], exe[4200];
	ssize_t r;
	bool dropped = false, deleted = false;

	pid_forget(t, pid);
	pid_forget(t, q->tid);
	snprintf(name, sizeof(name), "%d/exe", (int)pid);
	/* the tracer thread's root is the sandbox's: the name is as it sees it */
	if ((r = readlinkat(t->hostproc, name, exe, sizeof(exe) - 1)) <= 0) {
		exec_asked(t, pid, q, false);
		return;
	}
	exe[r] = 0;
	if (r > 10 && strcmp(exe + r - 10, " (deleted)") == 0) {
		deleted = true;
		if (strncmp(exe, "/memfd:", 7) != 0)
			exe[r - 10] = 0;
	}
	sw_ev_begin(t->log, b, "exec", sw_tracer_nspid(t, pid), nsppid(t, pid));
	sw_ev_str(b, "path", exe, sizeof(exe));
	if (q->path[0] && strcmp(q->absp, exe) != 0)
		sw_ev_str(b, "asked", q->absp, sizeof(q->absp));
	exec_common(t, pid, q, b);
	if (deleted && exe[0] == '/' && strncmp(exe, "/memfd:", 7) != 0)
		sw_ev_int(b, "deleted", 1);
	dropped = in_list(t->written, t->nwritten, exe) || in_list(t->written, t->nwritten, q->absp);
	file_fields(t, b, openat(t->hostproc, name, O_RDONLY | O_CLOEXEC), dropped, "not readable");
	exec_chain(t, pid, q, exe, b);
	sw_ev_end(t->log, b);
}

static exec_req *pending_of(sw_tracer *t, pid_t tid)
{
	size_t i;

	for (i = 0; i < MAX_PENDING; i++)
		if (t->pending[i].tid == tid)
			return &t->pending[i];
	return NULL;
}

static void pending_drop(sw_tracer *t, exec_req *q)
{
	exec_req_free(q);
	q->tid = 0;
	t->npending--;
}

/* An exec: followed through the kernel when the thread can be seized
 * (PTRACE_O_TRACEEXEC: it stops once the new image is in place, and
 * exec_reap records it there); else recorded now, from its request. */
static void on_exec(sw_tracer *t, pid_t pid, const struct seccomp_data *sd)
{
	exec_req *q = pending_of(t, pid), now;
	const pident *e;

	if (q) {
		/* seized still, after an exec that failed (execvp trying the
		 * next directory of PATH): the same thread, followed again */
		pid_t tgid = q->tgid;
		exec_req_free(q);
		memset(q, 0, sizeof(*q));
		exec_req_read(t, pid, sd, q);
		q->tid = pid;
		q->tgid = tgid;
		q->since = sw_sbx_now();
		return;
	}
	if (!(q = pending_of(t, 0)))
		q = &now;
	memset(q, 0, sizeof(*q));
	exec_req_read(t, pid, sd, q);
	if (!still_valid(t)) {
		exec_req_free(q);
		return;
	}
	if (q != &now && (e = pid_entry(t, pid)) &&
	    ptrace(PTRACE_SEIZE, pid, 0, (void *)(uintptr_t)PTRACE_O_TRACEEXEC) == 0) {
		q->tid = pid;
		q->tgid = e->tgid;
		q->since = sw_sbx_now();
		t->npending++;
		return;
	}
	pid_forget(t, pid);
	exec_asked(t, pid, q, false);
	exec_req_free(q);
}

/* One stop or exit of a seized thread (from waitid): an exec recorded, a
 * signal passed on, a failed exec's thread let go. */
static void reap_one(sw_tracer *t, exec_req *q, const siginfo_t *si)
{
	pid_t pid = si->si_pid;
	int st = si->si_status, ev;

	if (si->si_code == CLD_EXITED || si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED) {
		if (!q->failed)
			exec_asked(t, q->tid, q, true);
		pending_drop(t, q);
		return;
	}
	if (si->si_code != CLD_TRAPPED && si->si_code != CLD_STOPPED)
		return;
	ev = st >> 8;
	if (ev == PTRACE_EVENT_EXEC && !q->failed) {
		exec_done(t, pid, q);
		(void)ptrace(PTRACE_DETACH, pid, 0, 0);
		pending_drop(t, q);
		return;
	}
	/* any other stop comes on the way back to user space, so before an
	 * exec stop it means the exec returned: let the thread go, with the
	 * signal it stopped for (a group stop stays a stop) */
	if (!q->failed)
		exec_asked(t, pid, q, true);
	(void)ptrace(PTRACE_DETACH, pid, 0, (void *)(uintptr_t)(ev == 0 ? (st & 0x7f) : 0));
	pending_drop(t, q);
}

/* Every seized thread that stopped or exited, handled; one whose exec
 * has not come for a while is interrupted (a failed exec that made no
 * traced call since), and let go at that stop. */
static void exec_reap(sw_tracer *t)
{
	uint64_t now = sw_sbx_now();
	size_t i;

	for (i = 0; i < MAX_PENDING && t->npending; i++) {
		exec_req *q = &t->pending[i];
		siginfo_t si;
		if (!q->tid)
			continue;
		memset(&si, 0, sizeof(si));
		if ((waitid(P_PID, (id_t)q->tid, &si, WEXITED | WSTOPPED | WNOHANG | __WALL) == 0 && si.si_pid) ||
		    (q->tgid != q->tid && (memset(&si, 0, sizeof(si)),
					   waitid(P_PID, (id_t)q->tgid, &si, WEXITED | WSTOPPED | WNOHANG | __WALL) == 0) &&
		     si.si_pid)) {
			reap_one(t, q, &si);
			continue;
		}
		if ((q->failed || now - q->since > 500000000ull) && !q->interrupted) {
			q->interrupted = true;
			if (ptrace(PTRACE_INTERRUPT, q->tid, 0, 0) < 0 && errno == ESRCH && now - q->since > 5000000000ull)
				pending_drop(t, q);
		} else if (q->interrupted && now - q->since > 10000000000ull) {
			pending_drop(t, q); /* never stopped: forgotten (its exit goes to us) */
		}
	}
}

static void sockaddr_fields(sw_evb *b, const uint8_t *sa, size_t len, unsigned *port, int *family)
{
	char a[INET6_ADDRSTRLEN];
	unsigned short fam;

	*port = 0;
	*family = 0;
	if (len < 2)
		return;
	memcpy(&fam, sa, 2);
	*family = fam;
	if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in in;
		memcpy(&in, sa, sizeof(in));
		inet_ntop(AF_INET, &in.sin_addr, a, sizeof(a));
		*port = ntohs(in.sin_port);
		sw_ev_str(b, "dst", a, sizeof(a));
		sw_ev_int(b, "port", *port);
	} else if (fam == AF_INET6 && len >= 24) { /* the kernel takes it without sin6_scope_id */
		struct sockaddr_in6 in;
		memset(&in, 0, sizeof(in));
		memcpy(&in, sa, len < sizeof(in) ? len : sizeof(in));
		if (IN6_IS_ADDR_V4MAPPED(&in.sin6_addr))
			inet_ntop(AF_INET, (uint8_t *)&in.sin6_addr + 12, a, sizeof(a));
		else
			inet_ntop(AF_INET6, &in.sin6_addr, a, sizeof(a));
		*port = ntohs(in.sin6_port);
		sw_ev_str(b, "dst", a, sizeof(a));
		sw_ev_int(b, "port", *port);
	} else if (fam == AF_UNIX) {
		size_t l = len - 2 > 108 ? 108 : len - 2;
		const char *p = (const char *)sa + 2;
		bool abstract = l > 0 && p[0] == 0;
		sw_ev_str(b, "unix", abstract ? p + 1 : p, abstract ? l - 1 : strnlen(p, l));
		if (abstract)
			sw_ev_int(b, "abstract", 1);
	} else {
		sw_ev_int(b, "family", fam);
	}
}

static int sock_type(sw_tracer *t, pid_t pid, int fd)
{
	int pfd, dup, type = 0;
	socklen_t l = sizeof(type);

	if ((pfd = pidfd_of(t, pid)) < 0)
		return 0;
	dup = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	close(pfd);
	if (dup < 0)
		return 0;
	if (getsockopt(dup, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		type = 0;
	close(dup);
	return type;
}

static void resolve_name(sw_tracer *t, pid_t pid, int dirfd, const char *name, bool deref, char *out, size_t n);

/* A unix socket's path: what it leads to, when that is not the name (a
 * link to a runtime's socket), as "object". Resolved when the call is
 * made, not followed to its return: the kernel reads the address again. */
static void unix_object(sw_tracer *t, pid_t pid, const uint8_t *sa, size_t alen, sw_evb *b)
{
	char p[112], absp[4200], obj[4200];
	size_t l = alen - 2 > 108 ? 108 : alen - 2;

	if (l == 0 || sa[2] == 0)
		return; /* abstract: no file */
	memcpy(p, sa + 2, l);
	p[l] = 0;
	resolve_name(t, pid, AT_FDCWD, p, true, obj, sizeof(obj));
	abs_path(t, pid, AT_FDCWD, p, absp, sizeof(absp));
	if (obj[0] == '/' && strcmp(obj, absp) != 0)
		sw_ev_str(b, "object", obj, sizeof(obj));
}

/* One address a socket call names: recorded (first few times), and for
 * inet a sink listener on its port before the call goes on. */
static void net_addr(sw_tracer *t, pid_t pid, const char *kind, int fd, uint64_t addr, uint64_t alen)
{
	uint8_t sa[128];
	sw_evb *b = &t->ev;
	sw_evb tmp = { SW_BUF_INIT(4096), { 0 } };
	unsigned port;
	int fam, type;
	char key[256];

	if (alen > sizeof(sa))
		alen = sizeof(sa);
	if (alen < 2 || mem_read(pid, addr, sa, alen) != (ssize_t)alen || !still_valid(t))
		return;
	type = sock_type(t, pid, fd);
	/* the address's fields alone, as members of an object already open:
	 * their text is the key below, then goes into the event as it is */
	tmp.w = (sw_jw)SW_JW_INIT(&tmp.b);
	sw_jw_resume(&tmp.w, true);
	sockaddr_fields(&tmp, sa, alen, &port, &fam);
	if (fam == AF_INET || fam == AF_INET6) {
		/* the name the program resolved to this address (the sink gave
		 * it that name's own) */
		const char *host = alen >= (fam == AF_INET ? 8u : 24u) ?
				   sw_sink_host(t->sink, fam, fam == AF_INET ? sa + 4 : sa + 8) : NULL;
		if (host)
			sw_ev_str(&tmp, "name", host, 255);
		if (strcmp(kind, "bind") != 0)
			sw_sink_ensure(t->sink, type == SOCK_STREAM ? SOCK_STREAM : SOCK_DGRAM, port);
	} else if (fam != AF_UNIX) {
		sw_buf_release(&tmp.b);
		return; /* netlink: nothing outside to reach */
	}
	snprintf(key, sizeof(key), "%s %d %.*s", kind, type, (int)(tmp.b.len < 200 ? tmp.b.len : 200),
		 tmp.b.data ? tmp.b.data : "");
	if (first_time(t, key, 3)) {
		sw_ev_begin(t->log, b, kind, sw_tracer_nspid(t, pid), nsppid(t, pid));
		if (fam == AF_UNIX)
			sw_ev_str(b, "proto", type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "dgram" : "other", 8);
		else
			sw_ev_str(b, "proto", type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : "other", 8);
		if (tmp.b.len && !sw_buf_err(&tmp.b)) /* members after members: the comma is in tmp */
			sw_buf_append(&b->b, tmp.b.data, tmp.b.len);
		if (fam == AF_UNIX)
			unix_object(t, pid, sa, (size_t)alen, b);
		sw_ev_end(t->log, b);
	}
	sw_buf_release(&tmp.b);
}

/* connect, sendto, sendmsg, sendmmsg (its first 16 messages), bind. */
static void on_net(sw_tracer *t, pid_t pid, const struct seccomp_data *sd)
{
	int fd = (int)sd->args[0];
	unsigned i, n;

	switch (sd->nr) {
	case SYS_connect: net_addr(t, pid, "connect", fd, sd->args[1], sd->args[2]); return;
	case SYS_bind: net_addr(t, pid, "bind", fd, sd->args[1], sd->args[2]); return;
	case SYS_sendto: net_addr(t, pid, "send", fd, sd->args[4], sd->args[5]); return;
	case SYS_sendmsg: case SYS_sendmmsg:
		n = sd->nr == SYS_sendmsg ? 1 : (unsigned)(sd->args[2] < 16 ? sd->args[2] : 16);
		for (i = 0; i < n; i++) {
			struct mmsghdr m;
			if (mem_read(pid, sd->args[1] + (uint64_t)i * sizeof(m), &m, sizeof(m.msg_hdr)) != sizeof(m.msg_hdr))
				return;
			if (m.msg_hdr.msg_name)
				net_addr(t, pid, "send", fd, (uint64_t)(uintptr_t)m.msg_hdr.msg_name, m.msg_hdr.msg_namelen);
		}
		return;
	default:
		return;
	}
}

/* Where a write means persistence, and what a read means. */
static const char *const persist_prefix[] = {
	"/etc/ld.so.preload", "/etc/cron", "/var/spool/cron/", "/etc/anacrontab", "/etc/profile",
	"/etc/bash.bashrc", "/etc/rc.local", "/etc/init.d/", "/etc/rc", "/etc/systemd/",
	"/lib/systemd/system/", "/usr/lib/systemd/system/", "/etc/sudoers", "/etc/passwd", "/etc/shadow",
	"/etc/environment", "/etc/ld.so.conf", "/etc/update-motd.d/", "/etc/xdg/autostart/",
	"/etc/security/", "/etc/pam.d/",
};
static const char *const persist_suffix[] = {
	"/.bashrc", "/.profile", "/.bash_profile", "/.bash_login", "/.ssh/authorized_keys",
	"/.ssh/authorized_keys2", "/.zshrc", "/.config/autostart",
};
static const char *const cred_suffix[] = {
	"/.aws/credentials", "/.aws/config", "/.docker/config.json", "/.kube/config", "/.ssh/id_rsa",
	"/.ssh/id_ed25519", "/.ssh/id_ecdsa", "/.ssh/id_dsa", "/.git-credentials", "/.netrc",
	"/.config/gcloud/credentials.db", "/.config/gcloud/application_default_credentials.json",
	"/.azure/accessTokens.json", "/.azure/msal_token_cache.json", "/.s3cfg", "/.pgpass",
	"/.npmrc", "/.pypirc", "/.boto",
};

const char *sw_sbx_persist_path(const char *p)
{
	size_t i, n = strlen(p);

	for (i = 0; i < sizeof(persist_prefix) / sizeof(persist_prefix[0]); i++)
		if (strncmp(p, persist_prefix[i], strlen(persist_prefix[i])) == 0)
			return persist_prefix[i];
	for (i = 0; i < sizeof(persist_suffix) / sizeof(persist_suffix[0]); i++) {
		size_t l = strlen(persist_suffix[i]);
		if (n >= l && strstr(p, persist_suffix[i]))
			return persist_suffix[i];
	}
	return NULL;
}

/* "credentials", "escape" or NULL for a file opened for reading. */
static const char *sensitive_read(const char *p)
{
	size_t i, n = strlen(p);

	for (i = 0; i < sizeof(cred_suffix) / sizeof(cred_suffix[0]); i++) {
		size_t l = strlen(cred_suffix[i]);
		if (n >= l && strcmp(p + n - l, cred_suffix[i]) == 0)
			return "credentials";
	}
	if (strncmp(p, "/var/run/secrets/", 17) == 0 || strncmp(p, "/run/secrets/", 13) == 0 ||
	    strcmp(p, "/etc/shadow") == 0 || strcmp(p, "/etc/gshadow") == 0)
		return "credentials";
	if (strncmp(p, "/proc/", 6) == 0) {
		const char *q = p + 6;
		if (*q >= '0' && *q <= '9') {
			while (*q >= '0' && *q <= '9')
				q++;
			if (strncmp(q, "/root", 5) == 0 && (q[5] == 0 || q[5] == '/'))
				return "escape";
			if (strncmp(q, "/environ", 8) == 0 && strncmp(p, "/proc/self", 10) != 0)
				return "credentials";
		}
		if (strcmp(p, "/proc/sysrq-trigger") == 0 || strncmp(p, "/proc/sys/kernel/core_pattern", 29) == 0 ||
		    strncmp(p, "/proc/sys/kernel/modprobe", 25) == 0 || strcmp(p, "/proc/kcore") == 0)
			return "escape";
	}
	if (strstr(p, "docker.sock") || strstr(p, "containerd.sock") || strstr(p, "crio.sock") ||
	    (strncmp(p, "/sys/fs/cgroup/", 15) == 0 && strstr(p, "release_agent")))
		return "escape";
	return NULL;
}

/* ---- objects: what a file call reached ---- */

/*
 * An open, rename, link or symlink is judged by the object it reached,
 * not by the name it gave: a name can go through links made at run time,
 * a linked directory or "..", or be rewritten by another thread between
 * our read and the kernel's. So the call is followed to its return: the
 * calling thread is seized and interrupted while it waits for our answer
 * (the filter makes that wait killable once we hold the notification, so
 * the interrupt waits for the answer instead of abandoning the call), the
 * call goes on, and the thread stops on its way back to user space with
 * the result in its registers. An open's object is its new descriptor,
 * /proc/<tid>/fd/N as the tracer thread reads it (its root is the
 * sandbox's); a rename's is where the source is now (an O_PATH descriptor
 * of ours, taken before the call, moves with it); a link's is the new
 * name, checked to be the source's inode; a symlink's is what the new link
 * leads to. Then the thread is let go. A call that cannot be followed (no
 * free slot, the thread seized already) is judged by where its name leads
 * when we read it.
 */
/* Our own descriptor's path, as the tracer thread sees it. */
static int own_fd_path(sw_tracer *t, int fd, char *out, size_t n)
{
	char name[64];
	ssize_t r;

	snprintf(name, sizeof(name), "%d/fd/%d", (int)getpid(), fd);
	if ((r = readlinkat(t->hostproc, name, out, n - 1)) < 0)
		return -1;
	out[r] = 0;
	return 0;
}

/* name opened (O_PATH) as the caller reaches it: a relative name from its
 * cwd or dirfd, an absolute one from our root (the sandbox's), its
 * /proc/self being /proc/<its pid there>. Symlinks are followed as the
 * kernel follows them for the caller, since the walk is the same. */
static int open_at_caller(sw_tracer *t, pid_t pid, int dirfd, const char *name, int flags)
{
	char p[4200];

	if (name[0] == '/') {
		if (strncmp(name, "/proc/self/", 11) == 0) {
			const pident *e = pid_entry(t, pid);
			snprintf(p, sizeof(p), "/proc/%d%s", e ? sw_tracer_nspid(t, e->tgid) : 0, name + 10);
			name = p;
		}
		return open(name, flags | O_CLOEXEC);
	}
	return open_from(t, pid, dirfd, name, flags);
}

/* Where name leads now, for the caller: the object's path (deref: the
 * last component too), or, when it does not exist, the path of the
 * directory that would hold it and the last name; through a link to what
 * does not exist yet (deref), where creating through it would land, as
 * the kernel's O_CREAT does (40 links at most, as the kernel). Empty when
 * not even the directory resolves. */
static void resolve_name(sw_tracer *t, pid_t pid, int dirfd, const char *name, bool deref, char *out, size_t n)
{
	char cur[4200], dir[4200], got[4200], link[4096];
	const char *last, *s;
	ssize_t l;
	int fd, hops;

	out[0] = 0;
	if (!name[0] || strlen(name) >= sizeof(cur))
		return;
	snprintf(cur, sizeof(cur), "%s", name);
	for (hops = 0; hops <= 40; hops++) {
		if ((fd = open_at_caller(t, pid, dirfd, cur, O_PATH | (deref ? 0 : O_NOFOLLOW))) >= 0) {
			if (own_fd_path(t, fd, out, n) < 0)
				out[0] = 0;
			close(fd);
			return;
		}
		last = cur;
		snprintf(dir, sizeof(dir), ".");
		if ((s = strrchr(cur, '/'))) {
			size_t k = s == cur ? 1 : (size_t)(s - cur);
			memcpy(dir, cur, k);
			dir[k] = 0;
			last = s + 1;
		}
		if (!*last || strcmp(last, ".") == 0 || strcmp(last, "..") == 0 ||
		    (fd = open_at_caller(t, pid, dirfd, dir, O_PATH | O_DIRECTORY)) < 0)
			return;
		l = deref ? readlinkat(fd, last, link, sizeof(link) - 1) : -1;
		if (own_fd_path(t, fd, got, sizeof(got)) < 0 || got[0] != '/')
			l = -2;
		close(fd);
		if (l == -2)
			return;
		if (l <= 0) {
			if ((size_t)snprintf(out, n, "%s%s%s", got, strcmp(got, "/") == 0 ? "" : "/", last) >= n)
				out[0] = 0; /* too long to be a name */
			return;
		}
		link[l] = 0; /* a dangling link: on to its target */
		if ((size_t)snprintf(cur, sizeof(cur), "%s%s%s", link[0] == '/' ? "" : got,
				     link[0] == '/' || strcmp(got, "/") == 0 ? "" : "/", link) >= sizeof(cur))
			return;
		dirfd = AT_FDCWD;
	}
}

/* A path of the caller's own /proc directory (its thread names, its
 * descriptors): writes there are not news. */
static bool own_proc(sw_tracer *t, pid_t pid, const char *p)
{
	const pident *e;
	char own[32];
	size_t l;

	if (strncmp(p, "/proc/self/", 11) == 0 || strncmp(p, "/proc/thread-self/", 18) == 0)
		return true;
	if (strncmp(p, "/proc/", 6) != 0 || !(e = pid_entry(t, pid)))
		return false;
	l = (size_t)snprintf(own, sizeof(own), "/proc/%d/", sw_tracer_nspid(t, e->tgid));
	return strncmp(p, own, l) == 0;
}

/* What a path means: written, persistence; written or read, "credentials"
 * or "escape". The object's path is judged first, then the name's (a
 * name can show an attempt that stays inside: /proc/1/root/...); path is
 * the one with a meaning, else the object's. */
typedef struct objclass {
	const char *path;
	const char *persist;
	const char *sensitive;
} objclass;

static void classify(const char *obj, const char *asked, bool write, objclass *c)
{
	const char *cand[2] = { obj, asked };
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < 2 && !c->path; i++) {
		if (cand[i][0] != '/')
			continue;
		if (write && (c->persist = sw_sbx_persist_path(cand[i])))
			c->path = cand[i];
		else if ((c->sensitive = sensitive_read(cand[i])))
			c->path = cand[i];
	}
	if (!c->path)
		c->path = obj[0] == '/' ? obj : asked;
}

/* "path" (judged), "asked" (the name, made absolute, when it is not the
 * path), "object" (what it reached, when it is not the path). */
static void object_fields(sw_evb *b, const objclass *c, const char *asked, const char *obj)
{
	sw_ev_str(b, "path", c->path, 4200);
	if (asked[0] && strcmp(asked, c->path) != 0)
		sw_ev_str(b, "asked", asked, 4200);
	if (obj[0] && strcmp(obj, c->path) != 0)
		sw_ev_str(b, "object", obj, 4200);
	if (c->persist)
		sw_ev_str(b, "persistence", c->persist, 64);
	else if (c->sensitive)
		sw_ev_str(b, "sensitive", c->sensitive, 16);
}

/* An open: a write anywhere but our devices and the caller's own /proc, a
 * read of something sensitive; once per path. */
static void open_record(sw_tracer *t, pid_t pid, uint64_t flags, const char *asked, const char *obj, bool failed)
{
	bool write = (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
	objclass c;

	if (write) {
		if (our_dev(asked) || our_dev(obj) || own_proc(t, pid, asked) || own_proc(t, pid, obj))
			return;
		if (!failed && obj[0] == '/')
			remember(t->written, &t->nwritten, MAX_SEEN, obj);
		if (!failed)
			remember(t->written, &t->nwritten, MAX_SEEN, asked);
	}
	classify(obj, asked, write, &c);
	if ((!write && !c.sensitive) || !first_time(t, c.path, 1))
		return;
	sw_ev_begin(t->log, &t->ev, write ? "file-write" : "file-read", sw_tracer_nspid(t, pid), nsppid(t, pid));
	object_fields(&t->ev, &c, asked, obj);
	if (write && (flags & O_CREAT))
		sw_ev_int(&t->ev, "create", 1);
	if (failed)
		sw_ev_int(&t->ev, "failed", 1);
	sw_ev_end(t->log, &t->ev);
}

/* A rename or a hard link (kind): the source's name, where the new name
 * leads (obj), made or not. unconfirmed: the call succeeded but not on
 * the source we resolved (another thread changed a name meanwhile). */
static void pair_record(sw_tracer *t, pid_t pid, const char *kind, const follow *f, const char *obj, bool failed,
			bool unconfirmed)
{
	char from[4200], asked[4200];
	objclass c;
	sw_evb *b = &t->ev;

	abs_path(t, pid, f->fromdirfd, f->from, from, sizeof(from));
	abs_path(t, pid, f->dirfd, f->name, asked, sizeof(asked));
	if (!failed && obj[0] == '/')
		remember(t->written, &t->nwritten, MAX_SEEN, obj);
	if (!failed)
		remember(t->written, &t->nwritten, MAX_SEEN, asked);
	classify(obj, asked, true, &c);
	sw_ev_begin(t->log, b, kind, sw_tracer_nspid(t, pid), nsppid(t, pid));
	sw_ev_str(b, "from", from, sizeof(from));
	object_fields(b, &c, asked, obj);
	if (failed)
		sw_ev_int(b, "failed", 1);
	if (unconfirmed)
		sw_ev_int(b, "unconfirmed", 1);
	sw_ev_end(t->log, b);
}

/* A symlink: recorded when its target names something sensitive, climbs
 * out ("../../"), or leads to something sensitive (obj, once made). */
static void symlink_record(sw_tracer *t, pid_t pid, const follow *f, const char *obj)
{
	char at[4200];
	const char *why = sensitive_read(f->from);
	sw_evb *b = &t->ev;

	if (!why && obj[0] == '/')
		why = sensitive_read(obj);
	if (!why && strncmp(f->from, "../../", 6) != 0)
		return;
	resolve_name(t, pid, f->dirfd, f->name, false, at, sizeof(at));
	if (!at[0])
		abs_path(t, pid, f->dirfd, f->name, at, sizeof(at));
	sw_ev_begin(t->log, b, "symlink", sw_tracer_nspid(t, pid), nsppid(t, pid));
	sw_ev_str(b, "target", f->from, sizeof(f->from));
	sw_ev_str(b, "path", at, sizeof(at));
	if (obj[0] == '/' && strcmp(obj, at) != 0)
		sw_ev_str(b, "object", obj, 4200);
	sw_ev_str(b, "sensitive", why ? why : "escape", 16);
	sw_ev_end(t->log, b);
}

static bool is_open(int nr)
{
	return nr == SYS_open || nr == SYS_openat || nr == SYS_openat2 || nr == SYS_creat;
}

/* The record of a followed call: known, its result res; else (it exited
 * first, or stopped elsewhere) judged by where its names lead now. */
static void follow_done(sw_tracer *t, follow *f, bool known, long long res)
{
	char obj[4200], now[4200], asked[4200], name[64];
	bool done = known && res >= 0, unconfirmed = false;
	struct stat st;
	ssize_t r;
	int fd;

	obj[0] = 0;
	if (is_open(f->nr)) {
		abs_path(t, f->tid, f->dirfd, f->name, asked, sizeof(asked));
		snprintf(name, sizeof(name), "%d/fd/%lld", (int)f->tid, res);
		if (done && (r = readlinkat(t->hostproc, name, obj, sizeof(obj) - 1)) >= 0)
			obj[r] = 0;
		else
			resolve_name(t, f->tid, f->dirfd, f->name, !(f->flags & O_NOFOLLOW), obj, sizeof(obj));
		open_record(t, f->tid, f->flags, asked, obj, known && res < 0);
	} else if (f->nr == SYS_symlink || f->nr == SYS_symlinkat) {
		if (done)
			resolve_name(t, f->tid, f->dirfd, f->name, true, obj, sizeof(obj));
		symlink_record(t, f->tid, f, obj);
	} else {
		bool rename = f->nr == SYS_rename || f->nr == SYS_renameat || f->nr == SYS_renameat2;
		if (done && rename && f->src >= 0 && own_fd_path(t, f->src, now, sizeof(now)) == 0 &&
		    strcmp(now, f->srcpath) != 0)
			snprintf(obj, sizeof(obj), "%s", now); /* where the source went */
		if (!obj[0]) {
			resolve_name(t, f->tid, f->dirfd, f->name, false, obj, sizeof(obj));
			unconfirmed = done && rename;
			if (done && !rename) { /* the new name must be the source's inode */
				fd = open_at_caller(t, f->tid, f->dirfd, f->name, O_PATH | O_NOFOLLOW);
				unconfirmed = fd < 0 || f->src < 0 || fstat(fd, &st) < 0 || st.st_dev != f->dev ||
					      st.st_ino != f->ino;
				if (fd >= 0)
					close(fd);
			}
		}
		pair_record(t, f->tid, rename ? "file-rename" : "file-link", f, obj, known && res < 0, unconfirmed);
	}
}

/* Not followed by us already, as an exec (exec_reap waits on its thread
 * and on its leader). */
static bool exec_followed(sw_tracer *t, pid_t tid)
{
	size_t i;

	for (i = 0; i < MAX_PENDING && t->npending; i++)
		if (t->pending[i].tid && (t->pending[i].tid == tid || t->pending[i].tgid == tid))
			return true;
	return false;
}

/* Seize and interrupt the caller, to see its call return (answered and
 * waited for by sw_tracer_handle). NULL: not followed; recorded now. */
static follow *follow_begin(sw_tracer *t, pid_t pid, int nr)
{
	follow *f = NULL;
	size_t i;

	for (i = 0; i < MAX_RESTARTED; i++)
		if (t->restarted[i] == pid) {
			/* the same call again, after our stop cut it short (a
			 * FIFO's wait; a kernel without the killable wait):
			 * let it run, or it would be cut short for ever */
			t->restarted[i] = 0;
			return NULL;
		}
	if (t->nfollow >= MAX_FOLLOW || exec_followed(t, pid))
		return NULL;
	for (i = 0; i < MAX_FOLLOW && !f; i++)
		if (!t->fl[i].tid)
			f = &t->fl[i];
	if (!f || ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
		return NULL;
	(void)ptrace(PTRACE_INTERRUPT, pid, 0, 0); /* gone already: its exit is reaped */
	f->tid = pid;
	f->dying = false;
	f->nr = nr;
	f->since = sw_sbx_now();
	f->flags = 0;
	f->dirfd = f->fromdirfd = AT_FDCWD;
	f->src = -1;
	f->srcpath[0] = f->name[0] = f->from[0] = 0;
	t->nfollow++;
	t->cur = f;
	return f;
}

static void follow_end(sw_tracer *t, follow *f)
{
	if (f->src >= 0)
		close(f->src);
	f->src = -1;
	f->tid = 0;
	t->nfollow--;
}

/* One stop or exit of a followed thread: its call's result read, the
 * record made, the thread let go (with the signal it stopped for). */
static void follow_stop(sw_tracer *t, follow *f, const siginfo_t *si)
{
	struct user_regs_struct r;
	int st = si->si_status, ev = st >> 8;
	long long res;

	if (si->si_code == CLD_EXITED || si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED) {
		if (!f->dying)
			follow_done(t, f, false, 0);
		follow_end(t, f);
		return;
	}
	if (si->si_code != CLD_TRAPPED && si->si_code != CLD_STOPPED)
		return;
	if (f->dying)
		return;
	if (ptrace(PTRACE_GETREGS, f->tid, 0, &r) == 0 && (long long)r.orig_rax == f->nr) {
		res = (long long)r.rax;
		if (res <= -512 && res >= -516) /* -ERESTART*: made again, recorded then */
			t->restarted[t->nrestarted++ % MAX_RESTARTED] = f->tid;
		else
			follow_done(t, f, true, res);
	} else {
		follow_done(t, f, false, 0);
	}
	if (ptrace(PTRACE_DETACH, f->tid, 0, (void *)(uintptr_t)(ev == 0 ? (st & 0x7f) : 0)) < 0 && errno == ESRCH) {
		/* killed meanwhile (the run's end, while the record waited
		 * for main): a tracee's exit is its tracer's to reap, or its
		 * parent (the sandbox's init) waits for ever */
		f->dying = true;
		return;
	}
	follow_end(t, f);
}

/* What waitid (rc, si) said of a followed thread: its stop or exit
 * handled (true), or nothing yet. */
static bool follow_got(sw_tracer *t, follow *f, int rc, const siginfo_t *si)
{
	if (rc < 0) {
		if (errno != ECHILD)
			return false;
		if (!f->dying)
			follow_done(t, f, false, 0); /* not ours any more */
		follow_end(t, f);
		return true;
	}
	if (!si->si_pid)
		return false;
	follow_stop(t, f, si);
	return true;
}

static bool follow_poll(sw_tracer *t, follow *f)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return follow_got(t, f, waitid(P_PID, (id_t)f->tid, &si, WEXITED | WSTOPPED | WNOHANG | __WALL), &si);
}

/* After the answer: the followed thread's stop, waited for without the
 * lock. It comes as soon as the call returns, and the call returns soon:
 * the interrupt pending on the thread ends any interruptible wait in it
 * (a FIFO's: the call is cut short and made again, see follow_begin),
 * and the run's deadline kills whatever else could hold it (the sandbox's
 * PID 1, killed by the supervisor's loop, which does not wait for us). */
static void follow_wait(sw_tracer *t, follow *f, pthread_mutex_t *mu)
{
	siginfo_t si;
	int rc;

	do {
		memset(&si, 0, sizeof(si));
		rc = waitid(P_PID, (id_t)f->tid, &si, WEXITED | WSTOPPED | __WALL);
	} while (rc < 0 && errno == EINTR);
	pthread_mutex_lock(mu);
	(void)follow_got(t, f, rc, &si);
	pthread_mutex_unlock(mu);
}

/* Every followed thread that stopped or exited since; one that never
 * stops (10 s) is forgotten, recorded by its names. */
static void follow_reap(sw_tracer *t)
{
	uint64_t now = sw_sbx_now();
	size_t i;

	for (i = 0; i < MAX_FOLLOW && t->nfollow; i++) {
		follow *f = &t->fl[i];
		if (!f->tid || follow_poll(t, f))
			continue;
		if (now - f->since > 10000000000ull) {
			if (!f->dying)
				follow_done(t, f, false, 0);
			follow_end(t, f);
		}
	}
}

static void on_open(sw_tracer *t, pid_t pid, const struct seccomp_data *sd)
{
	char path[4096], asked[4200], obj[4200];
	int dirfd = AT_FDCWD;
	uint64_t flags = 0, paddr;
	follow *f;

	switch (sd->nr) {
	case SYS_open: paddr = sd->args[0]; flags = sd->args[1]; break;
	case SYS_creat: paddr = sd->args[0]; flags = O_CREAT | O_WRONLY | O_TRUNC; break;
	case SYS_openat: dirfd = (int)sd->args[0]; paddr = sd->args[1]; flags = sd->args[2]; break;
	case SYS_openat2: {
		struct open_how how;
		dirfd = (int)sd->args[0];
		paddr = sd->args[1];
		if (sd->args[3] < sizeof(uint64_t) || mem_read(pid, sd->args[2], &how, sizeof(uint64_t)) != 8)
			return;
		flags = how.flags;
		break;
	}
	default: return;
	}
	if (mem_str(pid, paddr, path, sizeof(path)) <= 0 || !still_valid(t))
		return;
	if ((f = follow_begin(t, pid, sd->nr))) {
		f->flags = flags;
		f->dirfd = dirfd;
		memcpy(f->name, path, sizeof(path));
		return;
	}
	abs_path(t, pid, dirfd, path, asked, sizeof(asked));
	resolve_name(t, pid, dirfd, path, !(flags & O_NOFOLLOW), obj, sizeof(obj));
	open_record(t, pid, flags, asked, obj, false);
}

/* rename, link: the source resolved now (O_PATH, ours: a rename's moves
 * with it), the call followed; else recorded now. */
static void on_pair(sw_tracer *t, pid_t pid, int nr, int fdir, const char *from, int tdir, const char *to,
		    bool follow_src)
{
	follow *f = follow_begin(t, pid, nr), now;
	struct stat st;
	char obj[4200];

	if (!f)
		f = &now;
	f->fromdirfd = fdir;
	f->dirfd = tdir;
	snprintf(f->from, sizeof(f->from), "%s", from);
	snprintf(f->name, sizeof(f->name), "%s", to);
	if (f != &now) {
		f->src = open_at_caller(t, pid, fdir, from, O_PATH | (follow_src ? 0 : O_NOFOLLOW));
		if (f->src >= 0 && (own_fd_path(t, f->src, f->srcpath, sizeof(f->srcpath)) < 0 || fstat(f->src, &st) < 0)) {
			close(f->src);
			f->src = -1;
		} else if (f->src >= 0) {
			f->dev = st.st_dev;
			f->ino = st.st_ino;
		}
		return;
	}
	resolve_name(t, pid, tdir, to, false, obj, sizeof(obj));
	pair_record(t, pid, nr == SYS_link || nr == SYS_linkat ? "file-link" : "file-rename", f, obj, false, false);
}

static void on_file_misc(sw_tracer *t, pid_t pid, const struct seccomp_data *sd)
{
	char a[4096], bpath[4096], absb[4200];
	sw_evb *b = &t->ev;
	follow *f, now;

	switch (sd->nr) {
	case SYS_rename: case SYS_renameat: case SYS_renameat2: case SYS_link: case SYS_linkat: {
		bool at = sd->nr != SYS_rename && sd->nr != SYS_link;
		if (mem_str(pid, sd->args[at ? 1 : 0], a, sizeof(a)) < 0 ||
		    mem_str(pid, sd->args[at ? 3 : 1], bpath, sizeof(bpath)) < 0 || !still_valid(t))
			return;
		on_pair(t, pid, (int)sd->nr, at ? (int)sd->args[0] : AT_FDCWD, a, at ? (int)sd->args[2] : AT_FDCWD, bpath,
			sd->nr == SYS_linkat && (sd->args[4] & AT_SYMLINK_FOLLOW));
		return;
	}
	case SYS_chmod: case SYS_fchmodat: case SYS_fchmod: {
		uint64_t mode = sd->nr == SYS_fchmodat ? sd->args[2] : sd->args[1];
		if (!(mode & 0111))
			return;
		if (sd->nr == SYS_fchmod) {
			if (fd_path(t, pid, (int)sd->args[0], absb, sizeof(absb)) < 0)
				return;
		} else {
			if (mem_str(pid, sd->args[sd->nr == SYS_chmod ? 0 : 1], a, sizeof(a)) < 0 || !still_valid(t))
				return;
			abs_path(t, pid, sd->nr == SYS_chmod ? AT_FDCWD : (int)sd->args[0], a, absb, sizeof(absb));
		}
		if (!in_list(t->written, t->nwritten, absb))
			return; /* making an image's own file executable: not news */
		sw_ev_begin(t->log, b, "chmod-exec", sw_tracer_nspid(t, pid), nsppid(t, pid));
		sw_ev_str(b, "path", absb, sizeof(absb));
		sw_ev_int(b, "mode", (int64_t)(mode & 07777));
		sw_ev_end(t->log, b);
		return;
	}
	case SYS_memfd_create:
		if (mem_str(pid, sd->args[0], a, 256) < 0 || !still_valid(t))
			a[0] = 0;
		sw_ev_begin(t->log, b, "memfd", sw_tracer_nspid(t, pid), nsppid(t, pid));
		sw_ev_str(b, "name", a, 256);
		sw_ev_end(t->log, b);
		return;
	case SYS_symlink: case SYS_symlinkat: {
		bool at = sd->nr == SYS_symlinkat;
		if (mem_str(pid, sd->args[0], a, sizeof(a)) < 0 ||
		    mem_str(pid, sd->args[at ? 2 : 1], bpath, sizeof(bpath)) < 0 || !still_valid(t))
			return;
		if (!(f = follow_begin(t, pid, (int)sd->nr)))
			f = &now;
		f->dirfd = at ? (int)sd->args[1] : AT_FDCWD;
		snprintf(f->from, sizeof(f->from), "%s", a);
		snprintf(f->name, sizeof(f->name), "%s", bpath);
		if (f == &now)
			symlink_record(t, pid, f, ""); /* the link is not made yet */
		return;
	}
	default:
		return;
	}
}

static const sys_entry *sys_of(int nr)
{
	size_t i;

	for (i = 0; i < sizeof(systab) / sizeof(systab[0]); i++)
		if (systab[i].nr == nr)
			return &systab[i];
	return NULL;
}

/* A refused call: recorded with what it asked for, answered EPERM. */
static void on_block(sw_tracer *t, pid_t pid, const struct seccomp_data *sd, const char *name)
{
	sw_evb *b = &t->ev;
	char s1[512], s2[512], key[96];

	snprintf(key, sizeof(key), "blocked %s", name);
	if (!first_time(t, key, 4))
		return;
	sw_ev_begin(t->log, b, "blocked", sw_tracer_nspid(t, pid), nsppid(t, pid));
	sw_ev_str(b, "syscall", name, 32);
	if (sd->arch != AUDIT_ARCH_X86_64 || (sd->nr & 0x40000000)) {
		sw_ev_str(b, "abi", sd->arch != AUDIT_ARCH_X86_64 ? "i386" : "x32", 8);
	} else if (sd->nr == SYS_mount) {
		if (mem_str(pid, sd->args[0], s1, sizeof(s1)) >= 0)
			sw_ev_str(b, "source", s1, sizeof(s1));
		if (mem_str(pid, sd->args[1], s2, sizeof(s2)) >= 0)
			sw_ev_str(b, "target", s2, sizeof(s2));
	} else if (sd->nr == SYS_unshare || sd->nr == SYS_clone || sd->nr == SYS_setns) {
		sw_ev_int(b, "flags", (int64_t)(sd->args[sd->nr == SYS_setns ? 1 : 0] & 0xffffffffu));
	} else if (sd->nr == SYS_ptrace) {
		sw_ev_int(b, "request", (int64_t)sd->args[0]);
		sw_ev_int(b, "target_pid", (int64_t)sd->args[1]);
	}
	sw_ev_end(t->log, b);
}

int sw_tracer_handle(sw_tracer *t, pthread_mutex_t *mu)
{
	const struct seccomp_data *sd = &t->req->data;
	const sys_entry *e;
	exec_req *q = NULL;
	follow *f = NULL;
	pid_t pid;
	int refuse = 0, rc = 0; /* refuse: the errno to answer with */

	if (t->npending || t->nfollow) {
		/* execs (and calls) being followed: their stops are looked at
		 * between notifications, every 200 us until none is left (an
		 * exec stop waits for this: 2 ms cost each exec 2 ms more) */
		struct pollfd pf = { t->fd, POLLIN, 0 };
		const struct timespec wait = { 0, 200000 };
		int r = ppoll(&pf, 1, &wait, NULL);
		pthread_mutex_lock(mu);
		exec_reap(t);
		follow_reap(t);
		pthread_mutex_unlock(mu);
		if (r <= 0)
			return r < 0 && errno != EINTR ? -1 : 0;
	}
	memset(t->req, 0, sizeof(*t->req));
	if (ioctl(t->fd, SECCOMP_IOCTL_NOTIF_RECV, t->req) < 0)
		return errno == EINTR || errno == ENOENT ? 0 : -1;
	pthread_mutex_lock(mu);
	t->cur = NULL;
	pid = (pid_t)t->req->pid;
	e = sys_of(sd->nr);
	if (t->npending && (q = pending_of(t, pid)) && !q->failed) {
		/* a seized thread makes a call: its exec returned, failed */
		exec_asked(t, pid, q, true);
		q->failed = true;
	}
	if (sd->arch != AUDIT_ARCH_X86_64 || (sd->nr & 0x40000000)) {
		char what[48];
		snprintf(what, sizeof(what), "%s:%d", sd->arch != AUDIT_ARCH_X86_64 ? "i386" : "x32",
			 sd->nr & ~0x40000000);
		on_block(t, pid, sd, what);
		refuse = ENOSYS;
	} else if (sd->nr == SYS_socket) {
		char what[48];
		snprintf(what, sizeof(what), "socket:%d", (int)(sd->args[0] & 0xffffffffu));
		on_block(t, pid, sd, what);
		refuse = EAFNOSUPPORT;
	} else if (sd->nr == SYS_clone) {
		on_block(t, pid, sd, "clone");
		refuse = EPERM;
	} else if (sd->nr == SYS_ptrace) {
		long req = (long)sd->args[0];
		if (req != PTRACE_TRACEME && (pid_t)sd->args[1] == 1) {
			on_block(t, pid, sd, "ptrace");
			refuse = EPERM; /* the sandbox's init is ours */
		}
	} else if (e && e->kind == T_BLOCK) {
		on_block(t, pid, sd, e->name);
		refuse = EPERM;
	} else {
		switch (sd->nr) {
		case SYS_execve: case SYS_execveat: on_exec(t, pid, sd); break;
		case SYS_connect: case SYS_bind: case SYS_sendto: case SYS_sendmsg: case SYS_sendmmsg:
			on_net(t, pid, sd);
			break;
		case SYS_listen:
			sw_ev_begin(t->log, &t->ev, "listen", sw_tracer_nspid(t, pid), nsppid(t, pid));
			sw_ev_end(t->log, &t->ev);
			break;
		case SYS_open: case SYS_openat: case SYS_openat2: case SYS_creat: on_open(t, pid, sd); break;
		default: on_file_misc(t, pid, sd); break;
		}
		f = t->cur;
	}
	memset(t->resp, 0, sizeof(*t->resp));
	t->resp->id = t->req->id;
	if (refuse) {
		t->resp->error = -refuse;
	} else {
		t->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	}
	pthread_mutex_unlock(mu);
	if (ioctl(t->fd, SECCOMP_IOCTL_NOTIF_SEND, t->resp) < 0) {
		if (errno != ENOENT && errno != EINTR)
			rc = -1;
		if (errno != ENOENT)
			f = NULL; /* unanswered: it cannot stop; follow_reap sees its end */
	}
	if (f)
		follow_wait(t, f, mu); /* the call returns: what it reached */
	if (q && q->failed && !q->interrupted && q->tid == pid) {
		/* answered: now stop it, to let it go (exec_reap) */
		q->interrupted = true;
		(void)ptrace(PTRACE_INTERRUPT, pid, 0, 0);
	}
	return rc;
}
