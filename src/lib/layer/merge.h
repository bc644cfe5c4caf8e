/* SPDX-License-Identifier: Apache-2.0 */
/* The merged view: layers laid over each other as a runtime would. */
#ifndef SW_LAYER_MERGE_H
#define SW_LAYER_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SW_MREC_WHITEOUT = 1,  /* path names what a ".wh." marker deletes */
	SW_MREC_OPAQUE = 2,    /* path names a directory made opaque */
	SW_MREC_UNPLACED = 4,  /* never lands in the filesystem (escaping path, aufs metadata) */
};

/* What a layer entry's last path component means to a runtime. */
typedef enum sw_marker {
	SW_MARK_NONE,          /* an ordinary name */
	SW_MARK_WHITEOUT,      /* ".wh.<name>": deletes <name> beside it */
	SW_MARK_OPAQUE,        /* ".wh..wh..opq": hides the directory's lower contents */
	SW_MARK_META,          /* other ".wh..wh.*": aufs metadata, never visible */
	SW_MARK_HOSTILE,       /* ".wh." whose target is empty, ".", ".." or holds
				  '/' or NUL: a runtime that joins it to the
				  directory deletes that directory or its parent */
} sw_marker;

/* Classify the last component base[0..n): every reader of layers (the
 * scan, the merged view, rootfs assembly, nested archives) asks this one
 * function, so none of them can disagree on what a marker deletes. For a
 * whiteout, *target (when not NULL) is set to the name it deletes. */
sw_marker sw_marker_kind(const char *base, size_t n, const char **target);

typedef struct sw_mrec {
	const char *path;      /* cleaned, absolute */
	const char *link;      /* hardlink target (cleaned, absolute) or NULL */
	char type;             /* tar typeflag */
	uint8_t flags;
} sw_mrec;

typedef struct sw_merge sw_merge;

/* Called for entries the merge cannot place as a runtime would. */
typedef void (*sw_merge_issue_fn)(void *ctx, size_t layer, size_t rec, const char *why);

sw_merge *sw_merge_new(size_t nlayers);
void sw_merge_free(sw_merge *m);
/* Apply layer `layer` (layers must come bottom to top). The records must
 * stay valid until sw_merge_free. SW_ENOMEM is the only error. */
int sw_merge_apply(sw_merge *m, size_t layer, const sw_mrec *recs, size_t n,
		   sw_merge_issue_fn issue, void *ctx);
/* Is the content written by (layer, rec) still reachable in the final
 * filesystem, under its own path or through a hardlink? */
bool sw_merge_live(const sw_merge *m, size_t layer, size_t rec);
/* The layer whose entries deleted or replaced the last copy of (layer,
 * rec)'s content, or -1 while it is live (or never was placed). */
long sw_merge_removed_by(const sw_merge *m, size_t layer, size_t rec);
/* Which entry last wrote `path` in the final filesystem. */
bool sw_merge_lookup(const sw_merge *m, const char *path, size_t *layer, size_t *rec);
size_t sw_merge_count(const sw_merge *m);

#endif
