/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor (M), the sandbox's init (W) and the image's command (E):
 * see sandbox_int.h for who does what. Everything here runs in processes
 * forked from stowaway; nothing in them trusts the root filesystem.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <linux/openat2.h>
#include <linux/securebits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox_int.h"

/* ---- the event log ---- */

uint64_t sw_sbx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sw_ev_begin(sw_evlog *l, sw_evb *e, const char *kind, int pid, int ppid)
{
	uint64_t t = sw_sbx_now() - l->t0;
	char secs[32];

	l->kind = kind;
	sw_buf_reset(&e->b);
	e->w = (sw_jw)SW_JW_INIT(&e->b);
	snprintf(secs, sizeof(secs), "%llu.%03llu", (unsigned long long)(t / 1000000000ull),
		 (unsigned long long)(t / 1000000ull % 1000));
	sw_jw_obj(&e->w);
	sw_jw_kraw(&e->w, "t", secs);
	sw_jw_kstr(&e->w, "kind", kind);
	if (pid > 0)
		sw_jw_kint(&e->w, "pid", pid);
	if (ppid > 0)
		sw_jw_kint(&e->w, "ppid", ppid);
}

/* All n bytes to the pipe. Main reads all the time, so a full pipe only
 * means it is behind: wait, the writer's lock held (the sandbox's traced
 * calls wait too, which is the back-pressure). The one thing a wait must
 * not hold back is the deadline: past it, the sandbox is killed here. */
static void ev_write(sw_evlog *l, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(l->fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { l->fd, POLLOUT, 0 };
			uint64_t now = sw_sbx_now();
			int to = -1;
			if (l->stop_pid > 0 && !l->stopped) {
				if (now >= l->stop_at) {
					l->stopped = true;
					kill(l->stop_pid, SIGKILL);
				} else {
					to = (int)((l->stop_at - now) / 1000000ull) + 1;
				}
			}
			(void)poll(&pf, 1, to);
			continue;
		}
		return; /* main is gone */
	}
}

void sw_ev_end(sw_evlog *l, sw_evb *e)
{
	sw_jw_end(&e->w);
	if (sw_jw_done(&e->w) < 0 || e->b.len + 1 > SW_EV_LINE_MAX) {
		/* no producer makes one (their fields are bounded below this);
		 * should one, main still learns what went unrecorded */
		size_t n = e->b.len;
		const char *kind = l->kind ? l->kind : "?";
		sw_ev_begin(l, e, "oversized", 0, 0);
		sw_ev_str(e, "of", kind, 32);
		sw_ev_int(e, "bytes", (int64_t)n);
		sw_jw_end(&e->w);
	}
	l->count++;
	sw_buf_putc(&e->b, '\n');
	ev_write(l, e->b.data, e->b.len);
}

void sw_ev_str(sw_evb *e, const char *key, const char *v, size_t n)
{
	sw_ev_bytes(e, key, v, strnlen(v, n));
}

void sw_ev_bytes(sw_evb *e, const char *key, const char *v, size_t len)
{
	sw_jw_key(&e->w, key);
	sw_jw_bytes(&e->w, v, len);
}

void sw_ev_int(sw_evb *e, const char *key, int64_t v)
{
	sw_jw_kint(&e->w, key, v);
}

void sw_ev_raw(sw_evb *e, const char *key, const char *json)
{
	sw_jw_kraw(&e->w, key, json);
}

/* ---- small helpers ---- */

static _Noreturn void die_msg(int ctl, const char *what)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "X%s: %s", what, strerror(errno));

	if (ctl >= 0)
		(void)send(ctl, msg, (size_t)(n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1), MSG_NOSIGNAL);
	_exit(126);
}

static int open_root(int root, const char *path, int flags, uint64_t resolve)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = resolve;
	return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

/* A real directory root/name (not a link): made when missing, replaced
 * when the image put something else there. Returns an O_PATH fd. */
static int mountpoint_dir(int root, const char *name)
{
	const uint64_t res = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	int fd = open_root(root, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, res);
	int parent;
	const char *slash = strrchr(name, '/');
	char pname[64];

	if (fd >= 0)
		return fd;
	if (slash) {
		snprintf(pname, sizeof(pname), "%.*s", (int)(slash - name), name);
		if ((parent = open_root(root, pname, O_PATH | O_DIRECTORY | O_NOFOLLOW, res)) < 0)
			return -1;
		name = slash + 1;
	} else {
		parent = dup(root);
	}
	(void)unlinkat(parent, name, 0);
	(void)mkdirat(parent, name, 0755);
	fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(parent);
	return fd;
}

static int mount_on(int fd, const char *src, const char *type, unsigned long flags, const char *data)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return mount(src, p, type, flags, data);
}

static int write_new(int dir, const char *name, const char *text)
{
	int fd;

	(void)unlinkat(dir, name, 0);
	if ((fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return -1;
	(void)sw_write_all(fd, text, strlen(text));
	close(fd);
	return 0;
}

/* Mounts, files the runtime provides, pivot_root. In W, before anything of
 * the image runs. */
static void setup_root(int ctl)
{
	static const char *const devs[] = { "null", "zero", "full", "random", "urandom", "tty" };
	int root, fd, dev, etc;
	size_t i;

	/* the cwd is the root filesystem (see init_main): bind it onto itself
	 * and step back in through its parent, our own work directory, so
	 * that no directory above it needs to be searchable by us */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die_msg(ctl, "making mounts private");
	if (mount(".", ".", NULL, MS_BIND | MS_REC, NULL) < 0)
		die_msg(ctl, "bind-mounting the root filesystem");
	if (chdir("../" SW_BOX_ROOT_NAME) < 0 || (root = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		die_msg(ctl, "opening the root filesystem");
	if ((fd = mountpoint_dir(root, "proc")) < 0 ||
	    mount_on(fd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die_msg(ctl, "mounting /proc");
	close(fd);
	if ((fd = mountpoint_dir(root, "tmp")) < 0 ||
	    mount_on(fd, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=256m,nr_inodes=65536") < 0)
		die_msg(ctl, "mounting /tmp");
	close(fd);
	if ((fd = mountpoint_dir(root, "sys")) >= 0) {
		/* read-only sysfs, as runtimes give; left empty where refused */
		(void)mount_on(fd, "sysfs", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
		close(fd);
	}
	if ((fd = mountpoint_dir(root, "dev")) < 0 ||
	    mount_on(fd, "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k,nr_inodes=256") < 0)
		die_msg(ctl, "mounting /dev");
	close(fd);
	if ((dev = open_root(root, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)) < 0)
		die_msg(ctl, "opening /dev");
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		char host[32];
		int f = openat(dev, devs[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		snprintf(host, sizeof(host), "/dev/%s", devs[i]);
		if (f < 0)
			die_msg(ctl, "creating a device file");
		close(f);
		if ((f = openat(dev, devs[i], O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0 || mount_on(f, host, NULL, MS_BIND, NULL) < 0)
			die_msg(ctl, "binding a device node");
		close(f);
	}
	(void)symlinkat("/proc/self/fd", dev, "fd");
	(void)symlinkat("/proc/self/fd/0", dev, "stdin");
	(void)symlinkat("/proc/self/fd/1", dev, "stdout");
	(void)symlinkat("/proc/self/fd/2", dev, "stderr");
	if ((fd = mountpoint_dir(root, "dev/shm")) < 0 ||
	    mount_on(fd, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m,nr_inodes=4096") < 0)
		die_msg(ctl, "mounting /dev/shm");
	close(fd);
	close(dev);
	/* the files a runtime writes: name service points at the sinkhole */
	if ((etc = open_root(root, "etc", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)) < 0) {
		(void)mkdirat(root, "etc", 0755);
		etc = open_root(root, "etc", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
	}
	if (etc >= 0) {
		(void)write_new(etc, "resolv.conf", "nameserver " SW_SINK_V4 "\n");
		(void)write_new(etc, "hostname", "sandbox\n");
		(void)write_new(etc, "hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
					      "127.0.1.1\tsandbox\n");
		close(etc);
	}
	if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		die_msg(ctl, "pivot_root");
	close(root);
	if (sethostname("sandbox", 7) < 0)
		die_msg(ctl, "sethostname");
}

static void write_file(const char *path, const char *text, int ctl)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || sw_write_all(fd, text, strlen(text)) < 0)
		die_msg(ctl, path);
	close(fd);
}

/* Capabilities go in two steps: the bounding set and securebits while we
 * still may change them, then (after the ids are set) every set empty. */
static void drop_bounding(int ctl)
{
	int c;

	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
			 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) < 0)
		die_msg(ctl, "securebits");
	for (c = 0; c <= 63; c++)
		if (prctl(PR_CAPBSET_DROP, c) < 0 && errno != EINVAL)
			die_msg(ctl, "dropping the bounding set");
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

static void drop_caps(int ctl)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		die_msg(ctl, "capset");
}

/* E: becomes the image's command. */
static void run_command(const sw_box_params *p, int ctl, int out, int execd)
{
	const sw_box_cmd *c = p->cmd;
	struct rlimit rl;
	char buf[64];
	struct ucred cr = { getpid(), getuid(), getgid() };
	char cbuf[CMSG_SPACE(sizeof(cr))];
	struct iovec iov = { (void *)"H", 1 };
	struct msghdr m = { NULL, 0, &iov, 1, cbuf, sizeof(cbuf), 0 };
	struct cmsghdr *cm;
	int lfd, nul, ack;

	if ((nul = open("/dev/null", O_RDONLY)) < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
	    dup2(ctl, 3) < 0 || dup2(execd, 4) < 0 || fcntl(4, F_SETFD, FD_CLOEXEC) < 0)
		die_msg(ctl, "standard descriptors");
	ctl = 3;
	if (syscall(SYS_close_range, 5, ~0u, 0) < 0)
		die_msg(ctl, "close_range");
	rl.rlim_cur = rl.rlim_max = p->max_procs;
	(void)setrlimit(RLIMIT_NPROC, &rl);
	rl.rlim_cur = rl.rlim_max = 4096; /* SANDBOX_NOFILE in detonate.c */
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max = 0;
	(void)setrlimit(RLIMIT_CORE, &rl);
	rl.rlim_cur = rl.rlim_max = 1ull << 30;
	(void)setrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = rl.rlim_max = 64 << 20;
	(void)setrlimit(RLIMIT_MEMLOCK, &rl);
	if (chdir(c->cwd && c->cwd[0] ? c->cwd : "/") < 0 && chdir("/") < 0)
		die_msg(ctl, "chdir");
	if ((c->uid || c->gid) && p->id_range && c->uid < 65536 && c->gid < 65536) {
		/* the image's user, among the 65536 ids mapped */
		drop_bounding(ctl);
		if (setgroups(0, NULL) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 || setresuid(c->uid, c->uid, c->uid) < 0)
			die_msg(ctl, "switching to the image's user");
	} else if (c->uid || c->gid) {
		/* the image's user: a user namespace of its own in which our one
		 * id is that user's (files we own look like its own) */
		if (unshare(CLONE_NEWUSER) < 0)
			die_msg(ctl, "user namespace for the image's user");
		write_file("/proc/self/setgroups", "deny", ctl);
		snprintf(buf, sizeof(buf), "%u 0 1\n", c->uid);
		write_file("/proc/self/uid_map", buf, ctl);
		snprintf(buf, sizeof(buf), "%u 0 1\n", c->gid);
		write_file("/proc/self/gid_map", buf, ctl);
		drop_bounding(ctl);
	} else {
		drop_bounding(ctl);
	}
	drop_caps(ctl);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die_msg(ctl, "no_new_privs");
	/* the id changes made this mm undumpable (inherited from the
	 * supervisor); the supervisor must be able to take our listener */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	/* who we are, before the filter stops sendmsg */
	cr.pid = getpid();
	cr.uid = getuid();
	cr.gid = getgid();
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(cr));
	memcpy(CMSG_DATA(cm), &cr, sizeof(cr));
	if (sendmsg(ctl, &m, MSG_NOSIGNAL) < 0)
		die_msg(ctl, "hello");
	if (sw_seccomp_install(&lfd) < 0)
		die_msg(ctl, "seccomp user notification (kernel 5.5 or later)");
	snprintf(buf, sizeof(buf), "L%d", lfd);
	if (write(ctl, buf, strlen(buf)) < 0 || read(ctl, &ack, 1) != 1)
		_exit(126);
	close(lfd);
	close(ctl);
	execve(c->exe, c->argv, c->env);
	{
		char msg[600];
		int n = snprintf(msg, sizeof(msg), "stowaway sandbox: cannot run %s: %s\n", c->exe, strerror(errno));
		(void)!write(2, msg, (size_t)n);
	}
	_exit(127);
}

static void on_alarm(int sig)
{
	(void)sig;
	_exit(128 + SIGKILL);
}

/* W: PID 1 of the sandbox. Exits when no process is left, with the
 * command's status. */
static void init_main(const sw_box_params *p, int ctl, int out)
{
	pid_t cmd;
	int st, code = 0, execd[2];
	char x;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(126);
	/* the supervisor's id change left this mm undumpable, which would keep
	 * it from our namespaces; until the command runs only */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	/* the sandbox goes first when a memory cgroup's OOM killer picks (the
	 * supervisor is in the group too): kernel-held memory, socket buffers
	 * say, is nobody's RSS, and the supervisor would look the largest.
	 * Raising one's own score needs no privilege; children inherit it. */
	{
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "1000", 4) != 4)
			die_msg(ctl, "oom_score_adj");
		close(fd);
	}
	if (fchdir(p->rootfs_fd) < 0)
		die_msg(ctl, "entering the root filesystem");
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP) < 0)
		die_msg(ctl, "mount, IPC, UTS and cgroup namespaces");
	setup_root(ctl);
	close(p->rootfs_fd);
	close(p->artifacts_dir);
	/* the wall clock, kept by PID 1 itself: its exit ends the namespace,
	 * whatever the supervisor is doing */
	signal(SIGALRM, on_alarm);
	alarm(p->timeout);
	(void)setsid();
	if (pipe2(execd, O_CLOEXEC) < 0 || (cmd = fork()) < 0)
		die_msg(ctl, "fork");
	if (cmd == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(execd[0]);
		run_command(p, ctl, out, execd[1]);
	}
	close(ctl);
	close(out);
	close(execd[1]);
	/* once the command runs (its end closes on exec), nothing of the
	 * sandbox may read or write this process's memory */
	while (read(execd[0], &x, 1) < 0 && errno == EINTR)
		;
	close(execd[0]);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (;;) {
		pid_t w = waitpid(-1, &st, __WALL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: nothing left */
		}
		if (w == cmd)
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	_exit(code);
}

/* ---- sampling: CPU, memory, processes of the sandbox ---- */

#define MAX_PROCS_TRACKED 1024

typedef struct proc_rec {
	int host, ns, nsppid;
	char comm[20];
	uint64_t ticks;
} proc_rec;

/* Threads are judged one by one: a miner may run one thread, or a few
 * at less than full speed, on a host with many CPUs. */
#define MAX_THREADS_TRACKED 4096
#define TOP_THREADS 8

typedef struct thr_rec {
	int tid, host;          /* on the host: the thread, its process */
	int ns;                 /* the thread as the sandbox sees it */
	char comm[20];
	uint64_t run, wait;     /* ns on a CPU and waiting for one (schedstat), last read */
	uint64_t first, last;   /* monotonic ns: first and last seen */
} thr_rec;

typedef struct sampler {
	int hostproc;
	char nsid[64];
	proc_rec procs[MAX_PROCS_TRACKED];
	size_t nprocs;
	uint64_t total_ticks, last_ticks, live, peak_live, rss_pages, peak_rss;
	thr_rec thr[MAX_THREADS_TRACKED];
	size_t nthr;
	uint16_t thr_at[2 * MAX_THREADS_TRACKED]; /* open addressing by tid: index + 1, 0 empty */
	uint64_t thr_untracked;    /* threads past the table: the most in one sample */
	uint64_t untracked_now;    /* and in this one */
	uint64_t thr_forgotten;    /* records of ended threads dropped to make room */
	uint64_t compacted_at;     /* the sample (s->at) the table was last compacted in */
	uint64_t at, dwall;        /* monotonic ns of the last sample, and since the one before */
	double demand;             /* CPUs the sandbox's threads wanted in the last interval */
	uint64_t busy_ns;          /* time in intervals that were a burn */
	unsigned samples;
	int64_t shmem0, shmem;     /* the host's Shmem (kB), first and last seen: memfds
				    * and tmpfs files the sandbox holds, that no RSS shows */
	int nl;                    /* sock_diag, in the sandbox's network namespace (or -1) */
	int live_host[MAX_PROCS_TRACKED]; /* the sandbox's processes at the last sample */
	size_t nlive;
	uint64_t sock_bytes, peak_sock; /* bytes queued in the sandbox's sockets */
	uint64_t fds, peak_fds;    /* descriptors open in the sandbox */
	int rootfs_fd;
	int64_t disk0, disk;       /* bytes used on the work directory's filesystem */
	int64_t inodes0, inodes;   /* and inodes (0 where it does not count them) */
} sampler;

/* Was the last interval a burn? What the sandbox's threads wanted is what
 * counts, not what they got: each thread's time on a CPU plus its time
 * waiting for one (its own schedstat), against the wall time, whatever
 * else the host runs. A burn: three quarters of one CPU or more, capped
 * at the CPUs the sandbox may use; one saturated thread is one, two
 * threads at 70% are 1.4. */
static bool burning(const sampler *s, long ncpu)
{
	double d = s->demand > (double)ncpu ? (double)ncpu : s->demand;

	return d >= 0.75;
}

static size_t thr_slot(const sampler *s, int tid)
{
	size_t x = ((unsigned)tid * 2654435761u) & (2 * MAX_THREADS_TRACKED - 1);

	for (; s->thr_at[x]; x = (x + 1) & (2 * MAX_THREADS_TRACKED - 1))
		if (s->thr[s->thr_at[x] - 1].tid == tid)
			break;
	return x;
}

/* The records that wanted the CPU most (on it or waiting for it), at most
 * TOP_THREADS, busiest first, into top; only those of threads last seen
 * before the sample at when at is not 0. Their number. */
static size_t thr_top(const sampler *s, uint64_t at, size_t top[TOP_THREADS])
{
	size_t ntop = 0, i, k;

	for (i = 0; i < s->nthr; i++) {
		uint64_t v = s->thr[i].run + s->thr[i].wait;
		if (at && s->thr[i].last >= at)
			continue;
		for (k = ntop; k > 0 && s->thr[top[k - 1]].run + s->thr[top[k - 1]].wait < v; k--)
			if (k < TOP_THREADS)
				top[k] = top[k - 1];
		if (k < TOP_THREADS) {
			top[k] = i;
			ntop += ntop < TOP_THREADS;
		}
	}
	return ntop;
}

/* The table is full: a program can make threads without end, and one
 * made past the table would want the CPU unseen. Kept: the threads seen
 * at the last sample (alive then; the ones seen in this one are among
 * them) and the TOP_THREADS busiest of those that ended (the summary
 * names them); the others are forgotten (counted). Once a sample. */
static void thr_compact(sampler *s)
{
	bool keep[MAX_THREADS_TRACKED] = { false };
	size_t top[TOP_THREADS], ntop, i, n = 0;

	if (!s->at || s->compacted_at == s->at)
		return;
	s->compacted_at = s->at;
	ntop = thr_top(s, s->at, top);
	for (i = 0; i < ntop; i++)
		keep[top[i]] = true;
	for (i = 0; i < s->nthr; i++)
		if (keep[i] || s->thr[i].last >= s->at)
			s->thr[n++] = s->thr[i];
	s->thr_forgotten += s->nthr - n;
	s->nthr = n;
	memset(s->thr_at, 0, sizeof(s->thr_at));
	for (i = 0; i < n; i++)
		s->thr_at[thr_slot(s, s->thr[i].tid)] = (uint16_t)(i + 1);
}

static thr_rec *thr_find(sampler *s, int tid, int host, bool *fresh)
{
	size_t x = thr_slot(s, tid);

	*fresh = false;
	if (s->thr_at[x])
		return &s->thr[s->thr_at[x] - 1];
	if (s->nthr >= MAX_THREADS_TRACKED) {
		thr_compact(s);
		x = thr_slot(s, tid);
	}
	if (s->nthr >= MAX_THREADS_TRACKED) {
		s->untracked_now++;
		return NULL;
	}
	memset(&s->thr[s->nthr], 0, sizeof(s->thr[0]));
	s->thr[s->nthr].tid = tid;
	s->thr[s->nthr].host = host;
	s->thr_at[x] = (uint16_t)++s->nthr;
	*fresh = true;
	return &s->thr[s->nthr - 1];
}

/* A small /proc file dir/name into buf (NUL-terminated): its length, or
 * <= 0 when it cannot be read. */
static ssize_t read_small(int dir, const char *name, char *buf, size_t n)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, n - 1);
	close(fd);
	buf[r > 0 ? r : 0] = 0;
	return r;
}

/* A new thread's name and its number in the sandbox (the last NSpid). */
static void thr_name(int tdir, thr_rec *r)
{
	char path[64], st[2048], *q;

	snprintf(path, sizeof(path), "%d/status", r->tid);
	if (read_small(tdir, path, st, sizeof(st)) <= 0)
		return;
	if (strncmp(st, "Name:\t", 6) == 0)
		snprintf(r->comm, sizeof(r->comm), "%.*s", (int)strcspn(st + 6, "\n"), st + 6);
	if ((q = strstr(st, "\nNSpid:"))) {
		char *end = q + 7 + strcspn(q + 7, "\n"), *sp;
		*end = 0;
		r->ns = (sp = strrchr(q + 7, '\t')) ? (int)strtol(sp + 1, NULL, 10) : 0;
	}
}

/* Every thread of the process host: what it wanted of the CPU since the
 * last sample, added to the interval's demand (a thread never counts for
 * more than the interval: it is on one CPU at a time). */
static void sample_threads(sampler *s, int host, uint64_t now, uint64_t dwall)
{
	char name[64];
	struct dirent *de;
	DIR *d;
	int dfd;

	snprintf(name, sizeof(name), "%d/task", host);
	if ((dfd = openat(s->hostproc, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		char path[64], buf[128];
		unsigned long long run, wait;
		uint64_t was = 0, got;
		int tid = (int)strtol(de->d_name, NULL, 10);
		bool fresh;
		thr_rec *r;
		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "%d/schedstat", tid);
		if (read_small(dirfd(d), path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%llu %llu", &run, &wait) != 2 ||
		    !(r = thr_find(s, tid, host, &fresh)))
			continue;
		if (fresh || r->host != host || run < r->run || wait < r->wait) {
			/* new, or its number reused: all of it is since the last sample */
			memset(r, 0, sizeof(*r));
			r->tid = tid;
			r->host = host;
			r->first = now - (dwall < now ? dwall : 0);
			thr_name(dirfd(d), r);
		} else {
			was = r->run + r->wait;
		}
		got = run + wait - was;
		s->demand += dwall ? (double)(got < dwall ? got : dwall) / (double)dwall : 0;
		r->run = run;
		r->wait = wait;
		r->last = now;
	}
	closedir(d);
}

/* One sock_diag dump (req, of len bytes): the sum, over the sockets it
 * lists, of the two meminfo counters a and b in attribute attr, which
 * follows a message header of hdr bytes. Bounded: at most 2^22 sockets. */
static uint64_t diag_sum(int nl, const void *req, size_t len, size_t hdr, unsigned short attr, int a, int b)
{
	static char buf[32768] __attribute__((aligned(8)));
	uint64_t sum = 0, msgs = 0;

	if (send(nl, req, len, 0) < 0)
		return 0;
	while (msgs < (1u << 22)) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		struct nlmsghdr *h;
		if (n <= 0)
			return sum;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct rtattr *at;
			int alen;
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				return sum;
			msgs++;
			alen = (int)h->nlmsg_len - (int)NLMSG_LENGTH(hdr);
			for (at = (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(hdr)); RTA_OK(at, alen);
			     at = RTA_NEXT(at, alen))
				if (at->rta_type == attr && RTA_PAYLOAD(at) >= (int)(SK_MEMINFO_VARS * sizeof(uint32_t))) {
					const uint32_t *mem = RTA_DATA(at);
					sum += (uint64_t)mem[a] + mem[b];
				}
		}
	}
	return sum;
}

/* The bytes queued in the sockets of the network namespace, which is the
 * sandbox's (the supervisor's sinkhole sockets count too: they hold what
 * the sandbox sent): memory the kernel holds that no RSS shows. sock_diag
 * answers without privilege, per namespace. A unix socket's queued data is
 * charged to its sender (wmem); TCP's send queue (wmem_queued) and every
 * receive queue (rmem) are counted for inet sockets, so that loopback
 * data may count twice, on the safe side. */
static uint64_t sockets_queued(int nl)
{
	static const struct { unsigned char family, proto; } inet[] = {
		{ AF_INET, IPPROTO_TCP }, { AF_INET6, IPPROTO_TCP }, { AF_INET, IPPROTO_UDP }, { AF_INET6, IPPROTO_UDP },
	};
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req r;
	} ureq;
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} ireq;
	uint64_t sum;
	size_t i;

	if (nl < 0)
		return 0;
	memset(&ureq, 0, sizeof(ureq));
	ureq.nh.nlmsg_len = sizeof(ureq);
	ureq.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	ureq.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ureq.r.sdiag_family = AF_UNIX;
	ureq.r.udiag_states = ~0u;
	ureq.r.udiag_show = UDIAG_SHOW_MEMINFO;
	sum = diag_sum(nl, &ureq, sizeof(ureq), sizeof(struct unix_diag_msg), UNIX_DIAG_MEMINFO,
		       SK_MEMINFO_WMEM_ALLOC, SK_MEMINFO_RMEM_ALLOC);
	for (i = 0; i < sizeof(inet) / sizeof(inet[0]); i++) {
		memset(&ireq, 0, sizeof(ireq));
		ireq.nh.nlmsg_len = sizeof(ireq);
		ireq.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
		ireq.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		ireq.r.sdiag_family = inet[i].family;
		ireq.r.sdiag_protocol = inet[i].proto;
		ireq.r.idiag_ext = 1 << (INET_DIAG_SKMEMINFO - 1);
		ireq.r.idiag_states = ~0u;
		sum += diag_sum(nl, &ireq, sizeof(ireq), sizeof(struct inet_diag_msg), INET_DIAG_SKMEMINFO,
				SK_MEMINFO_RMEM_ALLOC, SK_MEMINFO_WMEM_QUEUED);
	}
	return sum;
}

/* The descriptors process host has open (its fd directory's entries). */
static uint64_t fds_of(int hostproc, int host)
{
	char name[64];
	struct dirent *de;
	uint64_t n = 0;
	DIR *d;
	int dfd;

	snprintf(name, sizeof(name), "%d/fd", host);
	if ((dfd = openat(hostproc, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* What the kernel holds for the sandbox that no RSS shows: the socket
 * buffers of its network namespace, and the descriptors of the
 * processes the last sample found (which bound its pipes). Cheap: it
 * runs between samples too. */
static void sample_kernel(sampler *s)
{
	uint64_t fds = 0;
	size_t i;

	for (i = 0; i < s->nlive; i++)
		fds += fds_of(s->hostproc, s->live_host[i]);
	s->fds = fds;
	s->peak_fds = fds > s->peak_fds ? fds : s->peak_fds;
	s->sock_bytes = sockets_queued(s->nl);
	s->peak_sock = s->sock_bytes > s->peak_sock ? s->sock_bytes : s->peak_sock;
}


static void sample(sampler *s, sw_tracer *t)
{
	DIR *d;
	struct dirent *de;
	int dfd = dup(s->hostproc);
	uint64_t ticks = 0, rss = 0, live = 0, now = sw_sbx_now();
	uint64_t dwall = s->at && now > s->at ? now - s->at : 0;

	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	rewinddir(d);
	s->demand = 0;
	s->untracked_now = 0;
	while ((de = readdir(d))) {
		char name[300], link[64], stat[1024], *rp;
		ssize_t n;
		int host = (int)strtol(de->d_name, NULL, 10);
		unsigned long long ut = 0, stt = 0, rs = 0;
		int ppid = 0;
		size_t i;
		if (host <= 0)
			continue;
		snprintf(name, sizeof(name), "%d/ns/pid", host);
		if ((n = readlinkat(s->hostproc, name, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = 0;
		if (strcmp(link, s->nsid) != 0)
			continue;
		snprintf(name, sizeof(name), "%d/stat", host);
		if (read_small(s->hostproc, name, stat, sizeof(stat)) <= 0)
			continue;
		/* comm may hold spaces and parentheses: fields follow the last ')' */
		if (!(rp = strrchr(stat, ')')) ||
		    sscanf(rp + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %*u %*u %llu",
			   &ppid, &ut, &stt, &rs) != 4)
			continue;
		if (live < MAX_PROCS_TRACKED)
			s->live_host[live] = host;
		live++;
		rss += rs;
		for (i = 0; i < s->nprocs; i++)
			if (s->procs[i].host == host)
				break;
		if (i == s->nprocs && s->nprocs < MAX_PROCS_TRACKED) {
			char *lp = strchr(stat, '(');
			size_t l = lp ? (size_t)(rp - lp - 1) : 0;
			s->procs[i].host = host;
			s->procs[i].ns = t ? sw_tracer_nspid(t, host) : 0;
			s->procs[i].nsppid = t && ppid > 0 ? sw_tracer_nspid(t, ppid) : 0;
			snprintf(s->procs[i].comm, sizeof(s->procs[i].comm), "%.*s", (int)(l < 19 ? l : 19),
				 lp ? lp + 1 : "");
			s->procs[i].ticks = 0;
			s->nprocs++;
		}
		if (i < s->nprocs) {
			uint64_t dt = ut + stt >= s->procs[i].ticks ? ut + stt - s->procs[i].ticks : 0;
			ticks += dt;
			s->procs[i].ticks = ut + stt;
		}
		sample_threads(s, host, now, dwall);
	}
	closedir(d);
	s->at = now;
	s->dwall = dwall;
	if (s->untracked_now > s->thr_untracked)
		s->thr_untracked = s->untracked_now;
	s->nlive = live < MAX_PROCS_TRACKED ? live : MAX_PROCS_TRACKED;
	sample_kernel(s);
	{
		char mi[8192], *q;
		int fd = openat(s->hostproc, "meminfo", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, mi, sizeof(mi) - 1) : -1;
		struct statfs sf;
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			mi[n] = 0;
			if ((q = strstr(mi, "\nShmem:"))) {
				s->shmem = strtoll(q + 7, NULL, 10);
				if (!s->samples)
					s->shmem0 = s->shmem;
			}
		}
		if (fstatfs(s->rootfs_fd, &sf) == 0) {
			/* empty files take no blocks: inodes are counted too */
			s->disk = (int64_t)(sf.f_blocks - sf.f_bfree) * (int64_t)sf.f_bsize;
			s->inodes = sf.f_files >= sf.f_ffree ? (int64_t)(sf.f_files - sf.f_ffree) : 0;
			if (!s->samples) {
				s->disk0 = s->disk;
				s->inodes0 = s->inodes;
			}
		}
	}
	s->samples++;
	s->live = live;
	if (live > s->peak_live)
		s->peak_live = live;
	s->rss_pages = rss;
	if (rss > s->peak_rss)
		s->peak_rss = rss;
	s->total_ticks += ticks;
	s->last_ticks = ticks;
}

/* ---- M: the supervisor ---- */

/* One lock for the event log, the sink and the tracer's tables: the
 * tracer thread waits for notifications without it (a blocking receive is
 * what lets the kernel hand the CPU straight over), the main thread polls
 * without it. */
static pthread_mutex_t big = PTHREAD_MUTEX_INITIALIZER;

/* The tracer thread is made before the PID namespace (no thread can be
 * made after it), waits for its tracer, then takes a private fs_struct
 * and joins the sandbox's mount namespace: it sees the sandbox's files as
 * the sandbox does. */
typedef struct tstart {
	pthread_mutex_t m;
	pthread_cond_t c;
	sw_tracer *t;
	int mnt;
	int state;              /* 0 waiting, 1 go, 2 quit, 3 running, 4 failed */
	int err;
} tstart;

static void *tracer_main(void *arg)
{
	tstart *ts = arg;
	int state;

	pthread_mutex_lock(&ts->m);
	while (ts->state == 0)
		pthread_cond_wait(&ts->c, &ts->m);
	state = ts->state;
	if (state == 1) {
		if (unshare(CLONE_FS) < 0 || setns(ts->mnt, CLONE_NEWNS) < 0) {
			ts->err = errno;
			ts->state = 4;
		} else {
			ts->state = 3;
		}
	}
	state = ts->state;
	pthread_cond_broadcast(&ts->c);
	pthread_mutex_unlock(&ts->m);
	if (state != 3)
		return NULL;
	while (sw_tracer_handle(ts->t, &big) == 0)
		;
	return NULL;
}

static void fail_event(sw_evlog *log, const char *what, const char *why)
{
	sw_evb b = SW_EVB_INIT;

	sw_ev_begin(log, &b, "error", 0, 0);
	sw_ev_str(&b, "what", what, 256);
	sw_ev_str(&b, "reason", why, 512);
	sw_ev_end(log, &b);
	sw_buf_release(&b.b);
}

/* M's state from its set-up to the run's summary. It lives in
 * sw_box_supervise's frame, which never returns: the sinkhole, the tracer
 * and the tracer thread keep pointers into it. */
typedef struct supervisor {
	const sw_box_params *p;
	sw_evlog log;
	sampler *smp;
	sw_sink *sink;
	sw_tracer *tr;
	tstart ts;
	pthread_t th;
	int hostproc, ctl[2], outp[2], wpidfd, wake;
	int st;                 /* init's wait status */
	pid_t w;                /* init, as we see it */
	uint64_t start, deadline, interval;
	long ncpu, tck, page;
	bool timed_out, log_timeout, mem_killed, procs_hit, exited, disk_killed;
	int oomfd;              /* our cgroup's OOM kill count (v2 memory.events, v1 memory.oom_control), or -1 */
	unsigned outputs;
	uint64_t out_bytes;
	sw_evb b;               /* the event being built */
} supervisor;

#define FAIL(what) do { fail_event(&s->log, what, strerror(errno)); _exit(3); } while (0)

/* The command's side of the handshake: its pid (as we see it) and the
 * notification listener number; or the reason set-up failed. */
static int handshake(int ctl, pid_t *epid, int *lfd, char *err, size_t errn)
{
	char buf[600], cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr m = { NULL, 0, &iov, 1, cbuf, sizeof(cbuf), 0 };
	struct pollfd pf = { ctl, POLLIN, 0 };
	struct cmsghdr *cm;
	ssize_t n;
	int step;

	*epid = 0;
	for (step = 0; step < 2; step++) {
		if (poll(&pf, 1, 20000) <= 0) {
			snprintf(err, errn, "the sandbox did not start within 20 s");
			return -1;
		}
		m.msg_controllen = sizeof(cbuf);
		if ((n = recvmsg(ctl, &m, 0)) <= 0) {
			snprintf(err, errn, "the sandbox's init exited during set-up");
			return -1;
		}
		buf[n] = 0;
		if (buf[0] == 'X') {
			snprintf(err, errn, "%s", buf + 1);
			return -1;
		}
		if (buf[0] == 'H') {
			for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
					struct ucred cr;
					memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
					*epid = cr.pid;
				}
		} else if (buf[0] == 'L') {
			*lfd = (int)strtol(buf + 1, NULL, 10);
		}
	}
	if (*epid <= 0) {
		snprintf(err, errn, "the sandboxed command did not identify itself");
		return -1;
	}
	return 0;
}

static void sup_init(supervisor *s, const sw_box_params *p)
{
	s->p = p;
	s->log = (sw_evlog){ p->events_fd, sw_sbx_now(), 0, 0, 0, false, NULL };
	s->smp = calloc(1, sizeof(*s->smp));
	s->interval = 100000000ull;
	s->ncpu = p->cpus ? (long)p->cpus : sysconf(_SC_NPROCESSORS_ONLN);
	s->tck = sysconf(_SC_CLK_TCK);
	s->page = sysconf(_SC_PAGESIZE);
	s->b.b = (sw_buf)SW_BUF_INIT(1 << 20);
}

/* The file that counts our cgroup's OOM kills, when main made us one
 * (named stowaway-detonate-<pid>): v2's memory.events, or v1's
 * memory.oom_control. -1 when there is none. */
static int cgroup_oom_fd(void)
{
	char line[4096], path[4400];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int fd = -1;

	while (f && fd < 0 && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL, *last;
		if (!p)
			continue;
		*c = *p++ = 0;
		p[strcspn(p, "\n")] = 0;
		if (!(last = strrchr(p, '/')) || strncmp(last + 1, "stowaway-detonate-", 18) != 0)
			continue;
		if (!strcmp(line, "0") && c[1] == 0)
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.events", p);
		else if (strstr(c + 1, "memory"))
			snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/memory.oom_control", p);
		else
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (f)
		fclose(f);
	return fd;
}

static long oom_kills(int fd)
{
	char buf[1024], *p;
	ssize_t r = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;

	buf[r > 0 ? r : 0] = 0;
	return (p = strstr(buf, "oom_kill ")) ? strtol(p + 9, NULL, 10) : 0;
}

/* M's own user and network namespaces (main writes their id maps), the
 * sinkhole in them, the tracer thread, then the PID namespace init is
 * born into and the channels to it. A failure ends M (exit 3) with an
 * "error" event. */
static void enter_namespaces(supervisor *s)
{
	const sw_box_params *p = s->p;
	sw_error err = SW_ERROR_INIT;
	int one = 1;
	char c;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	(void)prctl(PR_SET_NAME, "sw-supervisor");
	if (!s->smp)
		_exit(3);
	/* a full pipe makes a writer wait in poll, where the deadline is kept */
	(void)fcntl(p->events_fd, F_SETFL, fcntl(p->events_fd, F_GETFL) | O_NONBLOCK);
	if ((s->hostproc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		FAIL("opening /proc");
	s->smp->hostproc = s->hostproc;
	s->smp->rootfs_fd = p->rootfs_fd;
	s->smp->nl = -1;
	s->oomfd = -1;
	sample(s->smp, NULL); /* the baselines, before anything of the sandbox runs */
	if (geteuid() == 0 && setgroups(0, NULL) < 0) /* root's groups stay outside */
		FAIL("dropping supplementary groups");
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		FAIL("user and network namespaces (are unprivileged user namespaces allowed?)");
	if (write(p->sync_fd, "u", 1) != 1 || read(p->sync_fd, &c, 1) != 1 || c != 'm') {
		errno = EPERM;
		FAIL("writing the user namespace's id maps");
	}
	close(p->sync_fd);
	s->oomfd = cgroup_oom_fd(); /* main has put us in our group by now */
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		FAIL("becoming root in the user namespace");
	if ((s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		FAIL("eventfd");
	/* the sandbox's socket buffers, seen from inside its namespace */
	if ((s->smp->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) < 0)
		FAIL("sock_diag");
	if (sw_sink_open(&s->sink, &s->log, s->wake, &err) < 0) {
		fail_event(&s->log, "sinkhole", err.msg);
		_exit(3);
	}
	if ((errno = pthread_create(&s->th, NULL, tracer_main, &s->ts)) != 0)
		FAIL("tracer thread");
	if (unshare(CLONE_NEWPID) < 0)
		FAIL("PID namespace");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s->ctl) < 0 || pipe2(s->outp, O_CLOEXEC) < 0)
		FAIL("socketpair");
	(void)setsockopt(s->ctl[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
}

/* W, the sandbox's init, forked into the new PID namespace; its pidfd. */
static void start_init(supervisor *s)
{
	s->start = sw_sbx_now();
	if ((s->w = fork()) < 0)
		FAIL("fork");
	if (s->w == 0) {
		close(s->ctl[0]);
		close(s->outp[0]);
		close(s->p->events_fd);
		close(s->hostproc);
		init_main(s->p, s->ctl[1], s->outp[1]);
	}
	close(s->ctl[1]);
	close(s->outp[1]);
	if ((s->wpidfd = (int)syscall(SYS_pidfd_open, s->w, 0)) < 0)
		FAIL("pidfd_open");
}

/* The command's side of the handshake, its seccomp listener taken from
 * it, the sampler told the sandbox's PID namespace, the tracer made. */
static void take_command(supervisor *s)
{
	char msg[600], name[64];
	int nfd = -1, lfd = -1;
	pid_t epid;

	if (handshake(s->ctl[0], &epid, &lfd, msg, sizeof(msg)) < 0) {
		fail_event(&s->log, "sandbox set-up", msg);
		kill(s->w, SIGKILL);
		waitpid(s->w, NULL, 0);
		_exit(3);
	}
	{
		int efd = (int)syscall(SYS_pidfd_open, epid, 0);
		if (efd < 0 || (nfd = (int)syscall(SYS_pidfd_getfd, efd, lfd, 0)) < 0) {
			fail_event(&s->log, "taking the seccomp listener", strerror(errno));
			kill(s->w, SIGKILL);
			_exit(3);
		}
		close(efd);
	}
	snprintf(name, sizeof(name), "%d/ns/pid", (int)s->w);
	{
		ssize_t n = readlinkat(s->hostproc, name, s->smp->nsid, sizeof(s->smp->nsid) - 1);
		s->smp->nsid[n > 0 ? n : 0] = 0;
	}
	if (sw_tracer_new(&s->tr, nfd, &s->log, s->sink, s->p->artifacts_dir, s->hostproc, s->p->max_artifact) < 0) {
		fail_event(&s->log, "tracer", "seccomp notification sizes");
		kill(s->w, SIGKILL);
		_exit(3);
	}
}

/* The tracer thread into the sandbox's mount namespace, then the command
 * told to go on. */
static void start_tracer(supervisor *s)
{
	char name[64];
	int mnt;

	snprintf(name, sizeof(name), "%d/ns/mnt", (int)s->w);
	if ((mnt = openat(s->hostproc, name, O_RDONLY | O_CLOEXEC)) < 0) {
		fail_event(&s->log, "opening the sandbox's mount namespace", strerror(errno));
		kill(s->w, SIGKILL);
		_exit(3);
	}
	pthread_mutex_lock(&s->ts.m);
	s->ts.t = s->tr;
	s->ts.mnt = mnt;
	s->ts.state = 1;
	pthread_cond_broadcast(&s->ts.c);
	while (s->ts.state == 1)
		pthread_cond_wait(&s->ts.c, &s->ts.m);
	pthread_mutex_unlock(&s->ts.m);
	if (s->ts.state != 3) {
		fail_event(&s->log, "joining the sandbox's mount namespace", strerror(s->ts.err));
		kill(s->w, SIGKILL);
		_exit(3);
	}
	close(mnt);
	if (write(s->ctl[0], "A", 1) != 1) {
		fail_event(&s->log, "sandbox set-up", "the command went away");
		kill(s->w, SIGKILL);
		_exit(3);
	}
}

static void timeout_event(supervisor *s)
{
	sw_ev_begin(&s->log, &s->b, "timeout", 0, 0);
	sw_ev_int(&s->b, "seconds", s->p->timeout);
	sw_ev_end(&s->log, &s->b);
}

/* A limit passed: its event (which limit, the figure under key, the
 * bound, and for memory the part of it in socket buffers, sock >= 0), and
 * the sandbox killed when kill_it. */
static void limit_event(supervisor *s, const char *limit, const char *key, int64_t v, int64_t max, int64_t sock,
			bool kill_it)
{
	sw_ev_begin(&s->log, &s->b, "limit", 0, 0);
	sw_ev_str(&s->b, "limit", limit, 16);
	sw_ev_int(&s->b, key, v);
	if (sock >= 0)
		sw_ev_int(&s->b, "socket_bytes", sock);
	sw_ev_int(&s->b, "max", max);
	sw_ev_end(&s->log, &s->b);
	if (kill_it)
		kill(s->w, SIGKILL);
}

/* The kernel's memory limit acted (the cgroup's OOM killer, on one
 * process): the run ends there, as at a sampled limit. Once per sample,
 * and once more after the run (the kill may have ended it first). */
static void oom_check(supervisor *s)
{
	long k;

	if (s->mem_killed || s->oomfd < 0 || (k = oom_kills(s->oomfd)) <= 0)
		return;
	s->mem_killed = true;
	limit_event(s, "memory", "oom_kills", k, (int64_t)s->p->memory, (int64_t)s->smp->sock_bytes, !s->exited);
}

/* After a sample: a busy interval counted, and an event for each limit
 * the sandbox passed, once (disk, inodes and memory kill it too). */
/* Memory and descriptors against their limits: after every sample, and
 * between samples after sample_kernel (socket and pipe buffers grow
 * faster than a sample comes round). */
static void check_memory(supervisor *s)
{
	const sw_box_params *p = s->p;
	sampler *smp = s->smp;
	uint64_t used = smp->rss_pages * (uint64_t)s->page +
			(smp->shmem > smp->shmem0 ? (uint64_t)(smp->shmem - smp->shmem0) * 1024 : 0) + smp->sock_bytes;

	if (used > p->memory && !s->mem_killed) {
		s->mem_killed = true;
		limit_event(s, "memory", "bytes", (int64_t)used, (int64_t)p->memory, (int64_t)smp->sock_bytes, true);
	}
	oom_check(s);
	if (p->max_fds && smp->fds > p->max_fds && !s->mem_killed) {
		s->mem_killed = true;
		limit_event(s, "descriptors", "descriptors", (int64_t)smp->fds, (int64_t)p->max_fds, -1, true);
	}
}

static void check_limits(supervisor *s)
{
	const sw_box_params *p = s->p;
	sampler *smp = s->smp;

	if (burning(smp, s->ncpu))
		smp->busy_ns += smp->dwall;
	if (smp->disk - smp->disk0 > (int64_t)p->max_disk && !s->disk_killed) {
		s->disk_killed = true;
		limit_event(s, "disk", "bytes", smp->disk - smp->disk0, (int64_t)p->max_disk, -1, true);
	}
	if (smp->inodes - smp->inodes0 > (int64_t)p->max_inodes && !s->disk_killed) {
		s->disk_killed = true;
		limit_event(s, "inodes", "inodes", smp->inodes - smp->inodes0, (int64_t)p->max_inodes, -1, true);
	}
	check_memory(s);
	if (smp->live + 8 >= p->max_procs && !s->procs_hit) {
		s->procs_hit = true;
		limit_event(s, "processes", "processes", (int64_t)smp->live, p->max_procs, -1, false);
	}
}

/* The command's stdout and stderr: counted, the first 64 chunks kept as
 * events; the pipe closed at its end. */
static void read_output(supervisor *s)
{
	char ob[4096];
	ssize_t r = read(s->outp[0], ob, sizeof(ob));

	if (r > 0) {
		s->out_bytes += (uint64_t)r;
		if (s->outputs++ < 64) {
			sw_ev_begin(&s->log, &s->b, "output", 0, 0);
			sw_ev_bytes(&s->b, "text", ob, (size_t)(r < 1024 ? r : 1024));
			sw_ev_end(&s->log, &s->b);
		}
	} else {
		close(s->outp[0]);
		s->outp[0] = -1;
	}
}

/* Kernel-held memory is looked at this often between samples. */
#define FAST_INTERVAL 40000000ull

/* Until init exits: the deadline kept, the command's output read, the
 * sinkhole served, and every interval a sample and its limits. Returns
 * with the lock held: the tracer thread stops there, and goes with this
 * process. */
static void watch(supervisor *s)
{
	uint64_t next_sample, next_fast;

	s->deadline = s->start + (uint64_t)s->p->timeout * 1000000000ull;
	pthread_mutex_lock(&big);
	s->log.stop_pid = s->w;
	s->log.stop_at = s->deadline;
	pthread_mutex_unlock(&big);
	next_sample = next_fast = sw_sbx_now() + FAST_INTERVAL; /* the first sample early: a baseline */
	while (!s->exited) {
		struct pollfd pf[3 + SW_SINK_MAX_FDS];
		size_t np = 0, ns, i;
		uint64_t now = sw_sbx_now();
		int to;

		if (now >= s->deadline && !s->timed_out) {
			/* before the lock: its holder may be waiting for main */
			s->timed_out = s->log_timeout = true;
			kill(s->w, SIGKILL);
		}
		pthread_mutex_lock(&big);
		if (s->log_timeout) {
			s->log_timeout = false;
			timeout_event(s);
		}
		to = (int)((next_fast > now ? next_fast - now : 0) / 1000000ull) + 1;
		pf[np++] = (struct pollfd){ s->wpidfd, POLLIN, 0 };
		pf[np++] = (struct pollfd){ s->wake, POLLIN, 0 };
		pf[np++] = (struct pollfd){ s->outp[0], POLLIN, 0 };
		ns = sw_sink_fds(s->sink, pf + np, SW_SINK_MAX_FDS);
		pthread_mutex_unlock(&big);
		if (poll(pf, np + ns, to) < 0 && errno != EINTR) {
			pthread_mutex_lock(&big);
			break;
		}
		pthread_mutex_lock(&big);
		if (pf[1].revents & POLLIN) {
			uint64_t v;
			(void)!read(s->wake, &v, sizeof(v)); /* a new listener: poll again with it */
		}
		if (pf[2].revents)
			read_output(s);
		sw_sink_serve(s->sink, pf + np, ns);
		if (sw_sbx_now() >= next_sample) {
			sample(s->smp, s->tr);
			next_sample = sw_sbx_now() + s->interval;
			next_fast = sw_sbx_now() + FAST_INTERVAL;
			check_limits(s);
		} else if (sw_sbx_now() >= next_fast) {
			sample_kernel(s->smp);
			next_fast = sw_sbx_now() + FAST_INTERVAL;
			check_memory(s);
		}
		if (pf[0].revents & POLLIN) {
			if (waitpid(s->w, &s->st, 0) == s->w) {
				s->exited = true;
				s->log.stop_pid = 0; /* reaped: its number may be reused */
			}
		}
		for (i = 0; i < np; i++)
			pf[i].revents = 0;
		if (!s->exited)
			pthread_mutex_unlock(&big);
	}
}

/* After the run: a timeout PID 1's own alarm enforced, and every process
 * the sampler saw (the tree, with those that never exec'd) with its CPU
 * time, from the last samples. */
static void process_events(supervisor *s)
{
	if (!s->timed_out && sw_sbx_now() + 100000000ull >= s->deadline) {
		/* PID 1's own alarm ended it before our clock came round */
		s->timed_out = true;
		timeout_event(s);
	}
	for (size_t i = 0; i < s->smp->nprocs && i < 256; i++) {
		proc_rec *r = &s->smp->procs[i];
		sw_ev_begin(&s->log, &s->b, "process", r->ns, r->nsppid);
		sw_ev_str(&s->b, "comm", r->comm, sizeof(r->comm));
		sw_ev_int(&s->b, "cpu_ms", (int64_t)(r->ticks * 1000 / (uint64_t)s->tck));
		sw_ev_end(&s->log, &s->b);
	}
}

/* The threads that wanted the CPU most (on it, or waiting for it), at
 * most TOP_THREADS, as "threads" in the summary: who burned it. */
static void busiest_threads(supervisor *s)
{
	const sampler *smp = s->smp;
	size_t top[TOP_THREADS], ntop = thr_top(smp, 0, top), k;

	sw_ev_int(&s->b, "threads_seen", (int64_t)(smp->nthr + smp->thr_forgotten + smp->thr_untracked));
	sw_jw_karr(&s->b.w, "threads");
	for (k = 0; k < ntop; k++) {
		const thr_rec *r = &smp->thr[top[k]];
		double life = (double)(r->last - r->first) / 1e9;
		sw_jw_obj(&s->b.w);
		sw_jw_kint(&s->b.w, "tid", r->ns);
		sw_jw_kint(&s->b.w, "pid", sw_tracer_nspid(s->tr, r->host));
		sw_jw_kstr(&s->b.w, "comm", r->comm);
		sw_jw_key(&s->b.w, "cpu_seconds");
		sw_jw_real(&s->b.w, (double)r->run / 1e9, 2);
		sw_jw_key(&s->b.w, "wait_seconds");
		sw_jw_real(&s->b.w, (double)r->wait / 1e9, 2);
		sw_jw_key(&s->b.w, "seen_seconds");
		sw_jw_real(&s->b.w, life, 2);
		sw_jw_end(&s->b.w);
	}
	sw_jw_end(&s->b.w);
}

/* The summary is never dropped: nothing is (main decides what the
 * timeline keeps); it says how many events came before it. */
static void summary_event(supervisor *s)
{
	const sampler *smp = s->smp;
	uint64_t n_events = s->log.count;

	sw_ev_begin(&s->log, &s->b, "summary", 0, 0);
	if (WIFEXITED(s->st))
		sw_ev_int(&s->b, "exit", WEXITSTATUS(s->st));
	else
		sw_ev_int(&s->b, "signal", WTERMSIG(s->st));
	sw_jw_kbool(&s->b.w, "timed_out", s->timed_out);
	sw_jw_kbool(&s->b.w, "memory_killed", s->mem_killed);
	sw_jw_kbool(&s->b.w, "process_limit", s->procs_hit);
	sw_jw_kbool(&s->b.w, "disk_killed", s->disk_killed);
	sw_jw_key(&s->b.w, "wall_seconds");
	sw_jw_real(&s->b.w, (double)(sw_sbx_now() - s->start) / 1e9, 3);
	sw_jw_key(&s->b.w, "cpu_seconds");
	sw_jw_real(&s->b.w, (double)smp->total_ticks / (double)s->tck, 3);
	sw_jw_key(&s->b.w, "busy_seconds");
	sw_jw_real(&s->b.w, (double)smp->busy_ns / 1e9, 2);
	busiest_threads(s);
	sw_ev_int(&s->b, "cpus", s->ncpu);
	sw_ev_int(&s->b, "peak_processes", (int64_t)smp->peak_live);
	sw_ev_int(&s->b, "processes_seen", (int64_t)smp->nprocs);
	sw_ev_int(&s->b, "peak_rss", (int64_t)(smp->peak_rss * (uint64_t)s->page));
	sw_ev_int(&s->b, "peak_socket_buffers", (int64_t)smp->peak_sock);
	sw_ev_int(&s->b, "peak_descriptors", (int64_t)smp->peak_fds);
	sw_ev_int(&s->b, "output_bytes", (int64_t)s->out_bytes);
	sw_ev_int(&s->b, "events", (int64_t)n_events);
	sw_ev_end(&s->log, &s->b);
}

void sw_box_supervise(const sw_box_params *p)
{
	supervisor s = { .ts = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, -1, 0, 0 } };

	sup_init(&s, p);
	enter_namespaces(&s);
	start_init(&s);
	take_command(&s);
	start_tracer(&s);
	watch(&s);
	oom_check(&s);
	process_events(&s);
	sw_sink_close(s.sink);
	summary_event(&s);
	/* the tracer thread may still sit in a receive into tr's buffers:
	 * nothing is freed, the process ends here */
	_exit(0);
}
