/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal helpers shared by every module: bounded growable buffers,
 * SHA-256 digests, a bounded JSON reader and a JSON writer, path
 * normalisation, UTF-8 decoding and text escaped for terminals (term.c,
 * whose public half is stowaway/term.h). Nothing else here is public API.
 */
#ifndef SW_UTIL_H
#define SW_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "stowaway/error.h"

/* ---- memory ---- */
void *sw__xmalloc(size_t n);          /* abort on OOM: only for tiny fixed sizes */
char *sw__strdup(const char *s);      /* NULL on OOM */
char *sw__strndup(const char *s, size_t n);
/* Ask for transparent huge pages on the 2 MiB-aligned interior of a big
 * buffer (a hint: ignored where the kernel has none). */
void sw_mem_huge(void *p, size_t n);
char *sw__asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- bounded buffer: grows up to `max`, then refuses with SW_ELIMIT ----
 * The first failure sticks (err): every later append is refused with it and
 * writes nothing, so a buffer never holds text with a hole in the middle,
 * and a writer that builds a document piece by piece checks once, at the
 * end (sw_buf_err). sw_buf_reset clears it. */
typedef struct sw_buf {
	char *data;
	size_t len, cap, max;
	int err;
} sw_buf;
#define SW_BUF_INIT(max) { NULL, 0, 0, (max), 0 }
/* The buffer's first failure (SW_ENOMEM, SW_ELIMIT), 0 when none. */
static inline int sw_buf_err(const sw_buf *b) { return b->err; }
int sw_buf_append(sw_buf *b, const void *p, size_t n);
/* Room for n more bytes (SW_ELIMIT past the buffer's max). */
int sw_buf_reserve(sw_buf *b, size_t n);
int sw_buf_putc(sw_buf *b, char c);
int sw_buf_printf(sw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sw_buf_vprintf(sw_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
const char *sw_buf_cstr(sw_buf *b); /* NUL-terminates (without counting it) */
void sw_buf_reset(sw_buf *b);
void sw_buf_release(sw_buf *b);
/* The same for a buffer that held a secret: the whole allocation is wiped
 * first. (A buffer that grew may have left copies in memory realloc freed:
 * reserve a secret's buffer before filling it.) */
void sw_buf_release_secret(sw_buf *b);
/* Wipe a secret string (password, token), then free it. NULL: no-op. */
void sw_free_secret(char *s);

/* ---- growing arrays ----
 * Room for element n of an array p that holds n elements and is appended to
 * one at a time: SW_GROW(p, n) before p[n++] = x. The capacity is implicit
 * (8, then the next power of two at or above n), so only a count is kept;
 * such an array must only ever be filled this way. SW_GROW_CAP(p, n, cap)
 * keeps an explicit capacity instead (for arrays also allocated elsewhere).
 * SW_ENOMEM, the array unchanged, on failure or overflow. */
int sw__grow(void *pp, size_t n, size_t elem, size_t *cap);
#define SW_GROW(p, n) sw__grow(&(p), (n), sizeof(*(p)), NULL)
#define SW_GROW_CAP(p, n, cap) sw__grow(&(p), (n), sizeof(*(p)), &(cap))
/* Take ownership of the data (NUL-terminated); the buffer is emptied. */
char *sw_buf_detach(sw_buf *b, size_t *len);

/* Read a whole local file into b (bounded by b->max). SW_ENOTFOUND when it
 * cannot be opened (errno kept), SW_ELIMIT when larger than b->max. For
 * files the user names (a pipe from the shell is fine). */
int sw_file_read(const char *path, sw_buf *b);
/* The same for a file inside an image (a layout's index.json): a regular
 * file only, never through a symlink at its last component; SW_EFORMAT for
 * a FIFO, device or socket, which is never opened. */
int sw_file_read_regular(const char *path, sw_buf *b);

/* ---- digests ---- */
#define SW_SHA256_LEN 32
#define SW_DIGEST_STRLEN 72 /* "sha256:" + 64 hex + NUL */
typedef struct sw_sha256 sw_sha256;
sw_sha256 *sw_sha256_new(void);
void sw_sha256_free(sw_sha256 *h);
void sw_sha256_reset(sw_sha256 *h);
void sw_sha256_update(sw_sha256 *h, const void *p, size_t n);
void sw_sha256_final(sw_sha256 *h, uint8_t out[SW_SHA256_LEN]);
void sw_sha256_buf(const void *p, size_t n, uint8_t out[SW_SHA256_LEN]);
#define SW_MD5_LEN 16
void sw_md5_buf(const void *p, size_t n, uint8_t out[SW_MD5_LEN]);
#define SW_SHA1_LEN 20
void sw_sha1_buf(const void *p, size_t n, uint8_t out[SW_SHA1_LEN]);
void sw_hex(const uint8_t *in, size_t n, char *out); /* out: 2n+1 */
/* n bytes from the 2n hex digits at p (either case); SW_EFORMAT on any other
 * character (a NUL included, so a short string fails too). */
int sw_unhex(const char *p, size_t n, uint8_t *out);
void sw_digest_str(const uint8_t d[SW_SHA256_LEN], char out[SW_DIGEST_STRLEN]);
/* Validate "sha256:<64 lowercase hex>" and decode it. */
int sw_digest_parse(const char *s, uint8_t out[SW_SHA256_LEN]);
bool sw_digest_valid(const char *s);

/* ---- JSON reader (bounded: document size, depth, counts) ---- */
typedef enum { SW_JSON_NULL, SW_JSON_BOOL, SW_JSON_NUM, SW_JSON_STR,
	       SW_JSON_ARR, SW_JSON_OBJ } sw_json_type;
typedef struct sw_json sw_json;
struct sw_json {
	sw_json_type type;
	bool b;
	bool is_int;       /* number had no fraction/exponent and fits int64 */
	int64_t i;
	double d;
	char *s;           /* STR: decoded, NUL-terminated (may hold NULs: see slen) */
	size_t slen;
	char *key;         /* set when this value is an object member */
	int line;          /* where it starts (a member: its name), from 1 */
	size_t n;          /* ARR/OBJ: number of children */
	sw_json *child, *next;
};
typedef struct sw_json_doc sw_json_doc;
#define SW_JSON_MAX_DEPTH 64
/* Parse `len` bytes. The whole input must be one value plus whitespace. */
int sw_json_parse(const char *p, size_t len, sw_json_doc **out, sw_error *err);
const sw_json *sw_json_root(const sw_json_doc *d);
void sw_json_free(sw_json_doc *d);
/* Lookups return NULL when absent or of another type (null counts as absent). */
const sw_json *sw_json_get(const sw_json *obj, const char *key);
const char *sw_json_get_str(const sw_json *obj, const char *key);
const sw_json *sw_json_get_arr(const sw_json *obj, const char *key);
const sw_json *sw_json_get_obj(const sw_json *obj, const char *key);
/* Integer member; SW_EFORMAT when absent, not an integer, or out of range. */
int sw_json_get_i64(const sw_json *obj, const char *key, int64_t *out);

/* ---- YAML reader (yaml.c, over libyaml): bounded, no aliases ---- */
typedef enum { SW_YAML_SCALAR, SW_YAML_SEQ, SW_YAML_MAP } sw_yaml_type;
typedef struct sw_yaml sw_yaml;
struct sw_yaml {
	sw_yaml_type type;
	int line;          /* 1-based; for a map member, the line of its key */
	char *key;         /* set when this value is a map member */
	char *s;           /* SCALAR: the text, NUL-terminated */
	size_t slen;
	bool plain;        /* SCALAR: unquoted (so "yes"/"true" may be meant as booleans) */
	size_t n;          /* SEQ/MAP: number of children */
	sw_yaml *child, *next;
};
typedef struct sw_yaml_doc sw_yaml_doc;
#define SW_YAML_MAX_INPUT (16 << 20)
/* Parse every document of a YAML stream; errors say "NAME:LINE: why". */
int sw_yaml_parse(const char *p, size_t len, const char *name, sw_yaml_doc **out, sw_error *err);
void sw_yaml_free(sw_yaml_doc *d);
size_t sw_yaml_ndocs(const sw_yaml_doc *d);
const sw_yaml *sw_yaml_root(const sw_yaml_doc *d, size_t i);   /* NULL for an empty document */
const sw_yaml *sw_yaml_get(const sw_yaml *map, const char *key);
const char *sw_yaml_str(const sw_yaml *n);                     /* NULL unless a scalar */

/* ---- base64 (standard alphabet, padded), whole writes and reads (codec.c) ---- */
int sw_b64_encode(sw_buf *out, const void *p, size_t n);
/* SW_EFORMAT unless n is a multiple of 4 of valid characters; *out malloc'd. */
int sw_b64_decode(const char *in, size_t n, uint8_t **out, size_t *outn);
/* Write all n bytes (retrying short writes and EINTR); SW_EIO with errno set. */
int sw_write_all(int fd, const void *p, size_t n);
/* Read exactly n bytes at off (retrying EINTR): SW_EIO on a read error,
 * SW_EFORMAT when the file ends first. */
int sw_pread_all(int fd, void *buf, size_t n, uint64_t off);

/* ---- JSON writer into a sw_buf (json.c) ----
 * The one place JSON text is made. The writer keeps the commas and the
 * nesting; strings are escaped, and bytes that are not valid UTF-8 become
 * \ufffd, so whatever names an attacker gives, the output parses. Errors
 * are sticky in the buffer (sw_buf_err): a misuse (a value where a key is
 * due, an end with nothing open, nesting past SW_JW_MAX_DEPTH) sets
 * SW_EINVAL, so a writer bug cannot emit broken JSON silently. */
#define SW_JW_MAX_DEPTH 64
typedef struct sw_jw {
	sw_buf *b;
	unsigned depth;
	uint64_t obj;    /* bit d: level d+1 is an object (else an array) */
	uint64_t more;   /* bit d: level d+1 has a member already */
	bool keyed;      /* a key was written: its value comes next */
	bool top;        /* the one top-level value has begun */
} sw_jw;
#define SW_JW_INIT(buf) { .b = (buf) }
void sw_jw_obj(sw_jw *w);                                 /* { */
void sw_jw_arr(sw_jw *w);                                 /* [ */
void sw_jw_end(sw_jw *w);                                 /* } or ] */
void sw_jw_key(sw_jw *w, const char *k);
void sw_jw_str(sw_jw *w, const char *s);                  /* NULL: null */
void sw_jw_strn(sw_jw *w, const char *s, size_t n);
void sw_jw_int(sw_jw *w, long long v);
void sw_jw_uint(sw_jw *w, unsigned long long v);
void sw_jw_real(sw_jw *w, double v, int decimals);        /* not finite: null */
void sw_jw_bool(sw_jw *w, bool v);
void sw_jw_null(sw_jw *w);
/* Bytes that must come back byte for byte (a session's first bytes): a
 * string in which printable ASCII stays and every other byte is \u00XX,
 * so a reader gets code points U+0000..U+00FF, one per byte. */
void sw_jw_bytes(sw_jw *w, const void *p, size_t n);
/* A value that is JSON text already (made by this writer elsewhere, or
 * checked by sw_json_parse); NULL or empty: null. */
void sw_jw_raw(sw_jw *w, const char *json);
/* A key and its value in one call. */
void sw_jw_kstr(sw_jw *w, const char *k, const char *s);
void sw_jw_kint(sw_jw *w, const char *k, long long v);
void sw_jw_kuint(sw_jw *w, const char *k, unsigned long long v);
void sw_jw_kbool(sw_jw *w, const char *k, bool v);
void sw_jw_kraw(sw_jw *w, const char *k, const char *json);
void sw_jw_kobj(sw_jw *w, const char *k);
void sw_jw_karr(sw_jw *w, const char *k);
/* Go on with an object whose text is in the buffer already, still open
 * (no closing brace yet): members says whether it has any. */
void sw_jw_resume(sw_jw *w, bool members);
/* 0 when the document is whole (everything opened is closed), else the
 * buffer's error or SW_EINVAL. */
int sw_jw_done(const sw_jw *w);
/* The escaped, quoted string alone (what sw_jw_str writes). */
int sw_jsonw_strn(sw_buf *b, const char *s, size_t n);
int sw_jsonw_str(sw_buf *b, const char *s);

/* ---- UTF-8 and text for terminals (term.c; the public half is stowaway/term.h) ---- */
/* The length (1-4) of the valid UTF-8 character at s (n bytes available),
 * its code point in *cp (may be NULL); 0 when the bytes are not valid
 * UTF-8: a stray continuation byte, a truncated, overlong or surrogate
 * sequence, or past U+10FFFF. */
size_t sw_utf8_decode(const void *s, size_t n, uint32_t *cp);
#define SW_TERM_UNIT_MAX 7 /* "\u202e" and its NUL */
/* The first unit of s (n > 0 bytes) as sw_term_escape shows it: its text,
 * NUL-terminated, in out (the character itself, or its escape); returns how
 * many bytes of s it covers (1 to 4). For callers that count columns. */
size_t sw_term_unit(const char *s, size_t n, char out[SW_TERM_UNIT_MAX]);
/* Append the escape of n bytes of s to b, whole units only and at most max
 * bytes of it; *taken (may be NULL) gets how many bytes of s went in (n
 * when all did). Errors of sw_buf_append (what went in before stays). */
int sw_buf_term(sw_buf *b, const char *s, size_t n, size_t max, size_t *taken);

/* ---- registry hosts (path.c) ---- */
/* Docker Hub's: docker.io, and the hosts its registry answers at
 * (registry-1.docker.io, index.docker.io, registry.hub.docker.com). */
bool sw_docker_hub_host(const char *host);

/* ---- paths ---- */
/* Normalise a tar entry name to "/a/b": strips "./" and leading "/",
 * folds "." and "//", resolves ".." lexically. Returns SW_EFORMAT when the
 * name would escape the root, SW_ELIMIT when longer than `max`. */
int sw_path_clean(const char *in, size_t inlen, char *out, size_t max);
/* Open dfd/name for reading only if it is a regular file; a FIFO, device or
 * socket is never opened (nothing can make the caller wait). follow: a
 * symlink at the last component is followed (a path the user typed), else
 * refused with ELOOP. The descriptor is O_NONBLOCK | O_CLOEXEC (no effect
 * on a regular file). -1 with errno (EINVAL: not a regular file). */
int sw_open_regular(int dfd, const char *name, bool follow);

/* ---- a bounded chunk pipe with its own consumer thread (pipe.c) ---- */
typedef struct sw_pipe sw_pipe;
/* Start a thread that calls fn(ctx, bytes, n) for every chunk put, in order.
 * side (may be NULL) runs on every chunk too, in order and before fn, on
 * the producer's thread when the pipe is full or else the consumer's.
 * nslots x slot_size bytes are allocated once. SW_ENOMEM on failure. */
int sw_pipe_start(sw_pipe **out, size_t nslots, size_t slot_size,
		  int (*fn)(void *ctx, const uint8_t *p, size_t n),
		  void (*side)(void *ctx, const uint8_t *p, size_t n), void *ctx);
/* Queue bytes (copied; split into slots). Blocks while the pipe is full.
 * Returns the consumer's error, if it has failed, instead of queueing. */
int sw_pipe_put(sw_pipe *p, const uint8_t *data, size_t n);
/* Without the copy: the next free slot to write into (blocks while the
 * pipe is full; the same slot again until committed), then queue the n
 * bytes written there (n 0 keeps the slot reserved; put is these two with
 * a copy). Both return the consumer's error, if it has failed. */
int sw_pipe_reserve(sw_pipe *p, uint8_t **buf, size_t *cap);
int sw_pipe_commit(sw_pipe *p, size_t n);
/* Deferred work of the producer's own: fn(ctx, buf, n) for every buffer
 * given to sw_pipe_defer, in order, on the consumer's thread while it waits
 * for a chunk, else on the producer's. defer returns once at most keep
 * entries are left queued (running the oldest itself): buf stays the
 * caller's and must stay valid until keep more have been deferred after it,
 * or until finish. */
#define SW_PIPE_DEFER_MAX 8
void sw_pipe_set_defer(sw_pipe *p, void (*fn)(void *ctx, const uint8_t *buf, size_t n));
void sw_pipe_defer(sw_pipe *p, const uint8_t *buf, size_t n, size_t keep);
/* No more input: run what was deferred, wait for the consumer to drain,
 * free the pipe, and return the consumer's first error (0 if none). NULL
 * is a no-op. */
int sw_pipe_finish(sw_pipe *p);

/* ---- time ---- */
double sw_now(void); /* monotonic seconds */

/* Last: the functions no file may use. Every library file includes this
 * header (directly or through its module's) after its system headers. */
#include "banned.h"

#endif
