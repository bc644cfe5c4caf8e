/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's parts, internal. Process layout:
 *
 *   stowaway (main)      assembles the root filesystem, writes the user
 *     |                  namespace maps, reads events, judges them
 *     +- supervisor (M)  own user + network namespace: the sinkhole, the
 *          |             seccomp notification handler, the clock
 *          +- init (W)   PID 1 of a new PID namespace; own mount, IPC, UTS
 *               |        and cgroup namespaces; pivot_root; reaps orphans
 *               +- the image's command (E): no capabilities, no_new_privs,
 *                  rlimits, the seccomp filter
 *
 * M talks to main through one pipe of JSON lines, one event per line
 * ({"t":seconds,"kind":...}). M writes every event, each at most
 * SW_EV_LINE_MAX bytes, and waits for the pipe when main is behind (the
 * sandbox waits with it); main judges every event as it arrives and keeps
 * only the first ones as the report's timeline (detonate.c).
 */
#ifndef SW_SANDBOX_INT_H
#define SW_SANDBOX_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/types.h>

#include "stowaway/sandbox.h"
#include "../util/util.h"

/* ---- the event log (M side) ---- */
typedef struct sw_evlog {
	int fd;                 /* write end of the pipe to main (O_NONBLOCK in M) */
	uint64_t t0;            /* monotonic ns at the start */
	uint64_t count;         /* events written */
	uint64_t stop_at;       /* monotonic ns: a write still waiting for main */
	pid_t stop_pid;         /* then kills this (the sandbox's PID 1), if > 0 */
	bool stopped;
	const char *kind;       /* of the event being built */
} sw_evlog;

/* One event line, newline included. Every producer bounds its fields so
 * that an event fits (the largest, an exec, is about 50 KiB); one that
 * does not is written as {"kind":"oversized","of":kind,"bytes":n}. */
#define SW_EV_LINE_MAX (64u << 10)

uint64_t sw_sbx_now(void); /* CLOCK_MONOTONIC in ns */
/* An event being built: its line, and the JSON writer over it. */
typedef struct sw_evb {
	sw_buf b;
	sw_jw w;
} sw_evb;
#define SW_EVB_INIT { SW_BUF_INIT(SW_EV_LINE_MAX), { 0 } }
/* Start an event line in e: {"t":..,"kind":"<kind>" (pid/ppid when > 0).
 * kind must live until sw_ev_end. */
void sw_ev_begin(sw_evlog *l, sw_evb *e, const char *kind, int pid, int ppid);
/* Close the object and write it, waiting while the pipe is full; past
 * l->stop_at the wait kills l->stop_pid first (the run's deadline holds
 * even when main is slow), then goes on waiting: nothing is dropped. */
void sw_ev_end(sw_evlog *l, sw_evb *e);
/* "key":"value", at most n bytes of value, binary-safe (sw_jw_bytes:
 * bytes that are not printable ASCII become \u00XX). */
void sw_ev_str(sw_evb *e, const char *key, const char *v, size_t n);
void sw_ev_int(sw_evb *e, const char *key, int64_t v);
/* The same for bytes that may hold NULs (first bytes of a session). */
void sw_ev_bytes(sw_evb *e, const char *key, const char *v, size_t n);
/* "key": a value that is JSON already (an argv array). */
void sw_ev_raw(sw_evb *e, const char *key, const char *json);

/* ---- the sinkhole (sink.c) ---- */
/* The resolver's address, and the one every name past the table gets;
 * each other name gets its own: 198.18.0.2 onwards (198.18.0.0/15,
 * RFC 2544's benchmarking range, never routed) and fd53::2 onwards
 * (fd53::/64, a unique local prefix of ours), the same number in both. */
#define SW_SINK_V4 "198.18.0.1"
#define SW_SINK_V6 "fd53::1"
#define SW_SINK_MAX_NAMES 4096 /* names given an address of their own, a run */

typedef struct sw_sink sw_sink;
#define SW_SINK_MAX_FDS (512 + 128) /* listeners + sessions */
/* In the new network namespace: loopback up, every address local, DNS
 * listeners on port 53. wake_fd (an eventfd, or -1) is written when a
 * listener is added, so that a poll on the old set returns. */
int sw_sink_open(sw_sink **out, sw_evlog *log, int wake_fd, sw_error *err);
/* Make sure a listener (SOCK_STREAM) or receiver (SOCK_DGRAM) is bound to
 * port on every address, before the sandboxed connect or send goes on. */
void sw_sink_ensure(sw_sink *s, int type, unsigned port);
/* Descriptors to poll (POLLIN); at most max. */
size_t sw_sink_fds(sw_sink *s, struct pollfd *p, size_t max);
/* Serve whatever is ready among p[0..n); close idle connections. */
void sw_sink_serve(sw_sink *s, const struct pollfd *p, size_t n);
void sw_sink_close(sw_sink *s);

/* FNV-1a of a string: the hash of the open-addressed tables that hold
 * what a sandboxed program chooses (names, destinations, call keys). */
static inline uint32_t sw_sbx_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* "mining.<verb>", compared in two parts: stowaway's own binary must not
 * carry the protocol's method names whole, or miner rules would match it. */
static inline bool sw_stratum_is(const char *method, const char *verb)
{
	return strncmp(method, "mining.", 7) == 0 && strcmp(method + 7, verb) == 0;
}

/* The name the sandbox resolved to addr (family AF_INET: 4 bytes,
 * AF_INET6: 16, v4-mapped read as v4), or NULL: an address no name was
 * given. Borrowed: lives as long as s. */
const char *sw_sink_host(const sw_sink *s, int family, const void *addr);

/* Protocol readers (exposed for tests and fuzzing). */
/* DNS query -> answer in out (at most outmax): A and AAAA get the name's
 * own address from s (added to its table), or the shared one when s is
 * NULL or its table is full; the question's name and type in name/qtype.
 * Returns the answer length, 0 when there is none to give, -1 for a
 * malformed query. */
int sw_dns_answer(sw_sink *s, const uint8_t *q, size_t n, uint8_t *out, size_t outmax, char name[256],
		  unsigned *qtype);
/* One TCP session's client bytes through the protocol handlers as if they
 * came to port (answers go nowhere); events to log. For fuzzing. */
int sw_sink_feed(const uint8_t *p, size_t n, unsigned port, sw_evlog *log);
/* A TLS ClientHello handshake message (header included) gathered from the
 * handshake records it spans (p: the session's first bytes) into hs, at
 * most hsmax bytes, its length in hslen. 1 whole, 0 more bytes needed,
 * -1 not a ClientHello (or longer than hsmax). */
#define SW_TLS_HELLO_MAX (32u << 10)
int sw_tls_hello(const uint8_t *p, size_t n, uint8_t *hs, size_t hsmax, size_t *hslen);
/* The SNI host name of a TLS ClientHello, from its records (as many as it
 * spans; what has come of it so far); 1 found, 0 none, -1 bad. */
int sw_tls_sni(const uint8_t *p, size_t n, char out[256]);

/* ---- TLS opened (intercept.c) ---- */
/* A certificate authority made in memory for one run, and the
 * certificates it signs for server names. */
typedef struct sw_tls_ca sw_tls_ca;
struct ssl_st;
struct bio_st;
/* A new authority and its server context. SW_ENOMEM, SW_ERROR. */
int sw_tls_ca_new(sw_tls_ca **out, sw_error *err);
void sw_tls_ca_free(sw_tls_ca *t); /* NULL: no-op */
/* A server-side TLS session presenting a certificate for name (a DNS
 * name or an IP address, printable, at most 255 bytes) over two memory
 * BIOs: the caller writes what the client sent into *rbio and sends what
 * appears in *wbio. The SSL owns the BIOs (SSL_free frees them); NULL on
 * failure. */
struct ssl_st *sw_tls_ca_accept(sw_tls_ca *t, const char *name, struct bio_st **rbio, struct bio_st **wbio);

/* ---- tracing (trace.c) ---- */
typedef struct sw_tracer sw_tracer;
int sw_tracer_new(sw_tracer **out, int notify_fd, sw_evlog *log, sw_sink *sink, int artifacts_dir,
		  int hostproc, uint64_t max_artifact);
int sw_tracer_fd(const sw_tracer *t);
/* Wait for one notification and answer it; mu (which guards the event
 * log, the sink and the tracer) is held while it is examined, not while
 * waiting. -1 when the listener is unusable. */
int sw_tracer_handle(sw_tracer *t, pthread_mutex_t *mu);
/* Host pid -> pid as the sandbox sees it (0 when unknown). */
int sw_tracer_nspid(sw_tracer *t, pid_t host);
/* The persistence location a path falls in (a prefix or suffix), or NULL. */
const char *sw_sbx_persist_path(const char *p);

/* The BPF program: native x86-64 only, escape syscalls and the syscalls
 * traced go to the supervisor, clone3 refused with ENOSYS. */
int sw_seccomp_install(int *listener);

/* ---- the supervisor (box.c) ---- */
typedef struct sw_box_cmd {
	char *exe;              /* what to execve: absolute inside the root */
	char **argv;            /* as the image wrote it */
	char **env;
	char *cwd;
	unsigned uid, gid;      /* inside; 0 = root */
} sw_box_cmd;

#define SW_BOX_ROOT_NAME "root"

typedef struct sw_box_params {
	int rootfs_fd;          /* the assembled root (O_PATH), named
				 * SW_BOX_ROOT_NAME in a work directory the
				 * sandbox's id owns (its parents need not be
				 * searchable by that id) */
	int artifacts_dir;      /* where executed files are copied */
	const sw_box_cmd *cmd;
	unsigned timeout;       /* seconds */
	uint64_t memory;        /* bytes, summed over the sandbox (sampled: pages,
				 * Shmem and unix socket buffers) */
	uint64_t max_fds;       /* descriptors open in the sandbox in all (sampled):
				 * what bounds its pipe buffers, which no sample sees */
	unsigned max_procs;
	uint64_t max_artifact;  /* bytes of one copied executable */
	uint64_t max_disk;      /* bytes the sandbox may add to the work directory's disk */
	uint64_t max_inodes;    /* and inodes (files, directories, links) */
	unsigned cpus;          /* CPUs it may use (0: all online) */
	int events_fd;          /* write end */
	int sync_fd;            /* M <-> main: "unshared" / "maps written" */
	bool id_range;          /* 65536 ids mapped (stowaway runs as root): the
				 * image's User is set directly; else a nested user
				 * namespace maps it onto our one id */
} sw_box_params;

/* In the child forked by main: never returns. */
void sw_box_supervise(const sw_box_params *p) __attribute__((noreturn));

/* ---- judging (behave.c) ---- */
typedef struct sw_report sw_report;
typedef struct sw_json sw_json;
typedef struct sw_judge sw_judge;

/* A judge that adds behaviour findings to r (borrowed, outlives it) as
 * the run's events arrive, one at a time: its memory does not grow with
 * their number. ncpu: the CPUs the sandbox could use. SW_ENOMEM. */
int sw_judge_new(sw_judge **out, sw_report *r, unsigned ncpu);
/* One event, parsed (borrowed for the call only). 0 or SW_ENOMEM. */
int sw_judge_event(sw_judge *j, const sw_json *e);
/* Something not fully seen or recorded: an incomplete entry and a medium
 * SW-INCOMPLETE finding (path may be NULL); the same path and reason
 * once; past SW_JUDGE_MAX_INCOMPLETE only counted (sw_judge_end lists the
 * count). 0 or SW_ENOMEM. */
#define SW_JUDGE_MAX_INCOMPLETE 256
int sw_judge_incomplete(sw_judge *j, const char *path, const char *reason);
/* The findings that need the whole run (scanning, CPU burn) and what the
 * bounds left out, as incompletes. wall: seconds of the run, for when the
 * summary is missing. 0 or SW_ENOMEM. */
int sw_judge_end(sw_judge *j, double wall);
void sw_judge_free(sw_judge *j); /* NULL: no-op */

#endif
