/* SPDX-License-Identifier: Apache-2.0 */
/* Tar reading: header decoding shared by the streaming parser (layers) and
 * the archive indexer (docker-archive / oci-archive files). Internal. */
#ifndef SW_LAYER_TAR_H
#define SW_LAYER_TAR_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/util.h"

#define SW_TAR_BLOCK 512

typedef struct sw_tar_xattr {
	char *name;         /* e.g. "security.capability" */
	char *value;
	size_t value_len;
} sw_tar_xattr;

typedef struct sw_tar_entry {
	const char *name;   /* raw name as stored (not cleaned) */
	size_t name_len;
	const char *link;   /* raw link target, "" if none */
	char type;          /* '0' file, '1' hardlink, '2' symlink, '5' dir, ... */
	uint64_t size;      /* bytes of data that follow */
	uint32_t mode;
	uint64_t uid, gid;
	int64_t mtime;
	const sw_tar_xattr *xattrs;
	size_t nxattrs;
	bool sparse;        /* GNU sparse: data is not the file's content */
	uint64_t offset;    /* offset of the data in the tar stream */
} sw_tar_entry;

typedef struct sw_tar_cb {
	void *ctx;
	/* Return <0 to abort (the code is passed back from sw_tar_feed). */
	int (*entry)(void *ctx, const sw_tar_entry *e);
	int (*data)(void *ctx, const uint8_t *p, size_t n);
	int (*entry_end)(void *ctx);
} sw_tar_cb;

typedef struct sw_tar sw_tar;

/* max_meta bounds a PAX or GNU long-name record. */
sw_tar *sw_tar_new(const sw_tar_cb *cb, size_t max_meta);
void sw_tar_free(sw_tar *t);
int sw_tar_feed(sw_tar *t, const uint8_t *p, size_t n, sw_error *err);
/* End of input: SW_EFORMAT when it stopped inside an entry. *trailing is set
 * when non-zero bytes followed the end-of-archive marker. */
int sw_tar_finish(sw_tar *t, bool *trailing, sw_error *err);
uint64_t sw_tar_entries(const sw_tar *t);

/* ---- used by the archive indexer ---- */
typedef struct sw_tar_hdr {
	char name[257];     /* prefix "/" name, NUL-terminated */
	char link[101];
	char type;
	uint64_t size;
	uint32_t mode;
	uint64_t uid, gid;
	int64_t mtime;
	bool zero;          /* an all-zero block */
} sw_tar_hdr;
int sw_tar__parse_header(const uint8_t blk[SW_TAR_BLOCK], sw_tar_hdr *h, sw_error *err);
/* Visit "key=value" records of a PAX payload. */
int sw_tar__parse_pax(const char *p, size_t n,
		      int (*fn)(void *ctx, const char *key, size_t klen,
				const char *val, size_t vlen),
		      void *ctx, sw_error *err);

#endif
