/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The detector interface. A detector sees one file at a time (metadata, its
 * SHA-256, and its bytes when it asks for them) or the whole image (config
 * and history), and never knows where the image came from. The engine owns
 * threading: `file` runs concurrently on worker threads with the state from
 * `init` (read-only after init) and a per-worker state from `worker_init`
 * (for engines such as YARA that need one scanner per thread).
 */
#ifndef SW_DETECT_DETECTOR_H
#define SW_DETECT_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stowaway/image.h"
#include "stowaway/report.h"
#include "stowaway/scan.h"
#include "../layer/tar.h"

typedef struct sw_file {
	const char *path;            /* cleaned absolute path ("/usr/bin/x") */
	char type;                   /* tar typeflag: '0' file, '2' symlink, '5' dir... */
	uint32_t mode;
	uint64_t uid, gid, size;
	const char *link;            /* link target or "" */
	size_t layer;
	const uint8_t *sha256;       /* whole content, regular files, when a detector
				      * asked for it (wants_sha256); else NULL */
	const sw_tar_xattr *xattrs;
	size_t nxattrs;
	bool truncated;              /* content exceeded max-file-size: data is NULL */
} sw_file;

/* Where detectors put findings; path and layer come from the engine. */
typedef struct sw_emit sw_emit;
int sw_emit_finding(sw_emit *e, const char *id, sw_severity sev, const char *category,
	    const char *title, const char *evidence_json);

/* Image-level detectors: a finding about one build step (its layer, or -1
 * for a step that made no layer; created_by may be NULL for the config). */
int sw_emit_step_finding(sw_emit *e, int layer, const char *created_by, const char *id,
			 sw_severity sev, const char *category, const char *title,
			 const char *evidence_json);

/* The current file could not be fully examined by this detector: listed
 * under "incomplete" and raised as a medium finding, never passed as clean. */
int sw_emit_incomplete(sw_emit *e, const char *reason);
/* The same, for a cause that depends on the run rather than on the bytes
 * (a timeout): the layer's result is then not kept in the layer cache. */
int sw_emit_transient(sw_emit *e, const char *reason);

enum { SW_DET_CONTENT = 1 << 0 }; /* needs file bytes, not only metadata */

typedef struct sw_detector {
	const char *name;
	unsigned flags;
	int (*init)(void **state, const sw_scan_opts *o, sw_buf *ruleset, sw_error *err);
	void (*release)(void *state);
	int (*worker_init)(void *state, void **wstate, sw_error *err);
	void (*worker_release)(void *wstate);
	int (*file)(void *state, void *wstate, const sw_file *f, const uint8_t *data,
		    size_t len, sw_emit *out);
	int (*image)(void *state, const sw_image *img, sw_emit *out);
	/* Does this detector need the SHA-256 of a regular file of this size
	 * (sw_file.sha256)? The engine hashes a file's content only when one
	 * says yes; a detector without it never gets the hash. */
	bool (*wants_sha256)(void *state, uint64_t size);
} sw_detector;

extern const sw_detector sw_detector_ioc;
extern const sw_detector sw_detector_yara;
extern const sw_detector sw_detector_config;
extern const sw_detector sw_detector_heur;

#endif
