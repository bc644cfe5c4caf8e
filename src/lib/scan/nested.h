/* SPDX-License-Identifier: Apache-2.0 */
/* Archives inside files: expanded in memory, member by member. Internal. */
#ifndef SW_SCAN_NESTED_H
#define SW_SCAN_NESTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"

typedef struct sw_nested_cb {
	void *ctx;
	/* One member: its full name ("outer!inner"), mode and bytes. */
	int (*member)(void *ctx, const char *path, uint32_t mode, const uint8_t *data, size_t len);
	/* Something was not expanded fully (limit, corrupt member). */
	int (*incomplete)(void *ctx, const char *path, const char *reason);
	/* A script carries an archive from byte `offset` on (may be NULL). */
	int (*sfx)(void *ctx, const char *path, size_t offset);
	/* A tar member is a whiteout that names "", "." or "..": whatever
	 * applies this tar as a layer deletes outside its directory (may be
	 * NULL). base is the member's last component. */
	int (*hostile)(void *ctx, const char *path, const char *base);
	/* An executable carries a compressed stream (kind "zlib", "gzip",
	 * "zstd", "xz", "lzma") at `offset`, `clen` bytes that decompress to
	 * data[0..len); called before the stream is given to member (may be
	 * NULL). path is the outer file's. */
	int (*embedded)(void *ctx, const char *path, const char *kind, size_t offset, size_t clen,
			const uint8_t *data, size_t len);
} sw_nested_cb;

typedef struct sw_nested_limits {
	uint64_t max_member;   /* bytes of one expanded member */
	uint64_t *budget;      /* expanded bytes left for this top-level file (shared) */
	uint32_t max_ratio;
	uint32_t max_members;  /* per archive */
} sw_nested_limits;

/* Decompressed bytes collected under the limits (shared by nested.c and
 * embedded.c): `in` is the compressed bytes read so far, for the ratio;
 * `why` says what stopped it. */
typedef struct sw_nested_out {
	sw_buf out;
	size_t hint;            /* the size the archive says, bounded */
	uint64_t in;
	const sw_nested_limits *lim;
	const char *why;
} sw_nested_out;

/* A sink (sw_sink_fn) appending to a sw_nested_out within max_member, the
 * budget and the ratio; SW_ELIMIT or SW_ENOMEM with `why` set. */
int sw_nested__collect(void *c, const uint8_t *p, size_t n);

/* The compressed streams inside an ELF file (a packer's payload, in its
 * loadable segments or appended after them): each one whose header is
 * valid and that decompresses is given to cb->embedded and cb->member as
 * "outer!KIND@OFFSET"; a gzip, zstd or xz stream that breaks off after
 * yielding data, any stream over the limits, and streams past 64 per file
 * are reported through cb->incomplete. Returns the number of members or a callback's error.
 * 0 when data is not ELF. */
int sw_nested_embedded(const char *outer, const uint8_t *data, size_t len,
		       const sw_nested_limits *lim, const sw_nested_cb *cb);

/* The archive kind of data ("tar", "gzip", "zstd", "zip"), or NULL. */
const char *sw_nested_kind(const uint8_t *data, size_t len);

/* Would sw_nested_expand find something to expand in data (an archive,
 * or a script with one appended)? Used at --max-depth, where what is not
 * expanded must be reported, not passed. */
bool sw_nested_expandable(const uint8_t *data, size_t len);

/* Expand one archive level. Returns the number of members given to cb, 0 when
 * data is not an archive, or a negative error from a callback. Corrupt or
 * over-limit archives are reported through cb->incomplete, not as errors. */
int sw_nested_expand(const char *outer, const uint8_t *data, size_t len,
		     const sw_nested_limits *lim, const sw_nested_cb *cb);

#endif
