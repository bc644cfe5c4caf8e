/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer cache's payload: a job written as length-prefixed fields.
 *
 *   "SWJOB4\0" | str diff_id | u64 entries | u64 bytes_out | u64 files
 *   u64 nrecs  | nrecs x (u8 type, u8 flags, str path, u8 has_link, str link)
 *   u64 nf     | nf x (u64 rec, str id, u8 severity, str category, str title,
 *                      str detector, str evidence, u8 has_path, str path)
 *   u64 ninc   | ninc x (u8 has_path, str path, str reason)
 *   u64 inc_dropped, u64 f_dropped
 *   u64 nkept  | nkept x (u64 rec, str data)
 *   u64 nsums  | nsums x (u64 rec, 16 bytes MD5, 20 bytes SHA-1, 32 bytes SHA-256)
 *   str: u32 length + bytes (no NUL inside names; data may hold anything)
 *
 * The reader trusts nothing: every count and length is checked against
 * what is left, every record index against the record count, and the
 * strings are bounded like a scanned layer's.
 */
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "../util/banned.h"

#define MAGIC "SWJOB4"

static int put_u64(sw_buf *b, uint64_t v)
{
	uint8_t x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	return sw_buf_append(b, x, 8);
}

static int put_str(sw_buf *b, const void *s, size_t n)
{
	uint8_t x[4];
	int i;

	if (n > UINT32_MAX)
		return SW_ELIMIT;
	for (i = 0; i < 4; i++)
		x[i] = (uint8_t)(n >> (8 * i));
	if (sw_buf_append(b, x, 4) < 0)
		return SW_ENOMEM;
	return n ? sw_buf_append(b, s, n) : 0;
}

static int put_cstr(sw_buf *b, const char *s)
{
	return put_str(b, s ? s : "", s ? strlen(s) : 0);
}

int sw_job_encode(const job *j, const char *diff_id, sw_buf *b)
{
	size_t i;
	int rc = 0;

	rc |= sw_buf_append(b, MAGIC, sizeof(MAGIC));
	rc |= put_cstr(b, diff_id);
	rc |= put_u64(b, j->entries);
	rc |= put_u64(b, j->bytes_out);
	rc |= put_u64(b, j->files);
	rc |= put_u64(b, j->nrecs);
	for (i = 0; i < j->nrecs && rc == 0; i++) {
		uint8_t tf[2] = { (uint8_t)j->recs[i].type, j->recs[i].flags };
		rc |= sw_buf_append(b, tf, 2);
		rc |= put_cstr(b, j->strings.data + j->recs[i].path);
		rc |= sw_buf_putc(b, j->recs[i].link ? 1 : 0);
		rc |= put_cstr(b, j->recs[i].link ? j->strings.data + j->recs[i].link : "");
	}
	rc |= put_u64(b, j->nf);
	for (i = 0; i < j->nf && rc == 0; i++) {
		const pfinding *f = &j->fs[i];
		rc |= put_u64(b, f->rec);
		rc |= put_cstr(b, f->f.id);
		rc |= sw_buf_putc(b, (char)f->f.severity);
		rc |= put_cstr(b, f->f.category);
		rc |= put_cstr(b, f->f.title);
		rc |= put_cstr(b, f->f.detector);
		rc |= put_cstr(b, f->f.evidence);
		rc |= sw_buf_putc(b, f->path ? 1 : 0);
		rc |= put_cstr(b, f->path);
	}
	rc |= put_u64(b, j->ninc);
	for (i = 0; i < j->ninc && rc == 0; i++) {
		rc |= sw_buf_putc(b, j->incs[i].path ? 1 : 0);
		rc |= put_cstr(b, j->incs[i].path);
		rc |= put_cstr(b, j->incs[i].reason);
	}
	rc |= put_u64(b, j->inc_dropped);
	rc |= put_u64(b, j->f_dropped);
	rc |= put_u64(b, j->nkept);
	for (i = 0; i < j->nkept && rc == 0; i++) {
		rc |= put_u64(b, j->kept[i].rec);
		rc |= put_str(b, j->kept[i].data, j->kept[i].len);
	}
	rc |= put_u64(b, j->nsums);
	for (i = 0; i < j->nsums && rc == 0; i++) {
		rc |= put_u64(b, j->sums[i].rec);
		rc |= sw_buf_append(b, j->sums[i].md5, SW_MD5_LEN);
		rc |= sw_buf_append(b, j->sums[i].sha1, SW_SHA1_LEN);
		rc |= sw_buf_append(b, j->sums[i].sha256, SW_SHA256_LEN);
	}
	return rc ? SW_ENOMEM : 0;
}

/* ---- reading ---- */

typedef struct rd {
	const uint8_t *p, *end;
	bool bad;
} rd;

static uint64_t get_u64(rd *r)
{
	uint64_t v = 0;
	int i;

	if (r->bad || r->end - r->p < 8) {
		r->bad = true;
		return 0;
	}
	for (i = 0; i < 8; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	return v;
}

static uint8_t get_u8(rd *r)
{
	if (r->bad || r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

/* A string: pointer into the payload and its length (not NUL-ended). */
static const uint8_t *get_str(rd *r, size_t *n)
{
	uint32_t len = 0;
	const uint8_t *s;
	int i;

	if (r->bad || r->end - r->p < 4) {
		r->bad = true;
		return NULL;
	}
	for (i = 0; i < 4; i++)
		len |= (uint32_t)r->p[i] << (8 * i);
	r->p += 4;
	if ((size_t)(r->end - r->p) < len) {
		r->bad = true;
		return NULL;
	}
	s = r->p;
	r->p += len;
	*n = len;
	return s;
}

/* A name: no NUL inside. */
static char *get_name(rd *r)
{
	size_t n;
	const uint8_t *s = get_str(r, &n);

	if (!s || memchr(s, 0, n)) {
		r->bad = true;
		return NULL;
	}
	return sw__strndup((const char *)s, n);
}

static int job_string(job *j, const uint8_t *s, size_t n, uint32_t *off)
{
	if (j->strings.len == 0 && sw_buf_putc(&j->strings, '\0') < 0)
		return SW_ELIMIT;
	if (memchr(s, 0, n) || j->strings.len + n + 1 > UINT32_MAX)
		return SW_EFORMAT;
	*off = (uint32_t)j->strings.len;
	if (sw_buf_append(&j->strings, s, n) < 0 || sw_buf_putc(&j->strings, '\0') < 0)
		return SW_ELIMIT;
	return 0;
}

int sw_job_decode(job *j, const uint8_t *p, size_t n, char **diff_id, size_t max_strings)
{
	rd r = { p, p + n, false };
	uint64_t cnt, i;
	int rc = 0;

	*diff_id = NULL;
	j->strings = (sw_buf)SW_BUF_INIT(max_strings);
	if (n < sizeof(MAGIC) || memcmp(p, MAGIC, sizeof(MAGIC)) != 0)
		return SW_EFORMAT;
	r.p += sizeof(MAGIC);
	if (!(*diff_id = get_name(&r)))
		return SW_EFORMAT;
	j->entries = get_u64(&r);
	j->bytes_out = get_u64(&r);
	j->files = get_u64(&r);
	/* records: at least 11 bytes each */
	cnt = get_u64(&r);
	if (r.bad || cnt > (uint64_t)(r.end - r.p) / 11)
		return SW_EFORMAT;
	if (cnt && !(j->recs = calloc((size_t)cnt, sizeof(*j->recs))))
		return SW_ENOMEM;
	j->caprecs = (size_t)cnt;
	for (i = 0; i < cnt && !r.bad && rc == 0; i++) {
		rec *x = &j->recs[i];
		const uint8_t *s;
		size_t sl;
		uint8_t has;
		x->type = (char)get_u8(&r);
		x->flags = get_u8(&r);
		if (!(s = get_str(&r, &sl)) || (rc = job_string(j, s, sl, &x->path)) < 0)
			break;
		has = get_u8(&r);
		if (!(s = get_str(&r, &sl)) || (has && (rc = job_string(j, s, sl, &x->link)) < 0))
			break;
		j->nrecs++;
	}
	/* findings: at least 34 bytes each */
	cnt = get_u64(&r);
	if (rc || r.bad || j->nrecs != j->caprecs || cnt > (uint64_t)(r.end - r.p) / 34)
		return rc ? rc : SW_EFORMAT;
	if (cnt && !(j->fs = calloc((size_t)cnt, sizeof(*j->fs))))
		return SW_ENOMEM;
	j->capf = (size_t)cnt;
	for (i = 0; i < cnt && !r.bad; i++) {
		pfinding *f = &j->fs[i];
		uint64_t rr = get_u64(&r);
		uint8_t sev, has;
		f->rec = (size_t)rr;
		f->f.id = get_name(&r);
		sev = get_u8(&r);
		f->f.severity = (sw_severity)sev;
		f->f.category = get_name(&r);
		f->f.title = get_name(&r);
		f->f.detector = get_name(&r);
		f->f.evidence = get_name(&r);
		has = get_u8(&r);
		f->path = get_name(&r);
		j->nf++;
		if (!has) {
			free(f->path);
			f->path = NULL;
		}
		f->f.layer = (int)j->index;
		if (r.bad || rr >= j->nrecs || sev > SW_SEV_CRITICAL || !f->f.id || !f->f.category || !f->f.title ||
		    !f->f.detector || !f->f.evidence)
			r.bad = true;
	}
	cnt = get_u64(&r);
	if (r.bad || cnt > (uint64_t)(r.end - r.p) / 9)
		return SW_EFORMAT;
	if (cnt && !(j->incs = calloc((size_t)cnt, sizeof(*j->incs))))
		return SW_ENOMEM;
	j->capinc = (size_t)cnt;
	for (i = 0; i < cnt && !r.bad; i++) {
		uint8_t has = get_u8(&r);
		j->incs[i].path = get_name(&r);
		j->incs[i].reason = get_name(&r);
		j->ninc++;
		if (!has) {
			free(j->incs[i].path);
			j->incs[i].path = NULL;
		}
		if (!j->incs[i].reason)
			r.bad = true;
	}
	j->inc_dropped = (size_t)get_u64(&r);
	j->f_dropped = (size_t)get_u64(&r);
	cnt = get_u64(&r);
	if (r.bad || cnt > (uint64_t)(r.end - r.p) / 12)
		return SW_EFORMAT;
	if (cnt && !(j->kept = calloc((size_t)cnt, sizeof(*j->kept))))
		return SW_ENOMEM;
	for (i = 0; i < cnt && !r.bad; i++) {
		uint64_t rr = get_u64(&r);
		size_t dl;
		const uint8_t *d = get_str(&r, &dl);
		if (r.bad || rr >= j->nrecs || !(j->kept[i].data = malloc(dl ? dl : 1))) {
			r.bad = true;
			break;
		}
		memcpy(j->kept[i].data, d, dl);
		j->kept[i].len = dl;
		j->kept[i].rec = (size_t)rr;
		j->nkept++;
	}
	cnt = get_u64(&r);
	if (r.bad || cnt > (uint64_t)(r.end - r.p) / (8 + SW_MD5_LEN + SW_SHA1_LEN + SW_SHA256_LEN))
		return SW_EFORMAT;
	if (cnt && !(j->sums = calloc((size_t)cnt, sizeof(*j->sums))))
		return SW_ENOMEM;
	for (i = 0; i < cnt && !r.bad; i++) {
		uint64_t rr = get_u64(&r);
		if (r.bad || rr >= j->nrecs || r.end - r.p < SW_MD5_LEN + SW_SHA1_LEN + SW_SHA256_LEN) {
			r.bad = true;
			break;
		}
		memcpy(j->sums[i].md5, r.p, SW_MD5_LEN);
		memcpy(j->sums[i].sha1, r.p + SW_MD5_LEN, SW_SHA1_LEN);
		memcpy(j->sums[i].sha256, r.p + SW_MD5_LEN + SW_SHA1_LEN, SW_SHA256_LEN);
		r.p += SW_MD5_LEN + SW_SHA1_LEN + SW_SHA256_LEN;
		j->sums[i].rec = (size_t)rr;
		j->nsums++;
	}
	if (r.bad || r.p != r.end)
		return SW_EFORMAT;
	return 0;
}

void sw_job_release(job *j)
{
	size_t i;

	for (i = 0; i < j->nf; i++) {
		free((char *)j->fs[i].f.id);
		free((char *)j->fs[i].f.category);
		free((char *)j->fs[i].f.title);
		free((char *)j->fs[i].f.detector);
		free((char *)j->fs[i].f.evidence);
		free(j->fs[i].path);
	}
	free(j->fs);
	for (i = 0; i < j->ninc; i++) {
		free(j->incs[i].path);
		free(j->incs[i].reason);
	}
	free(j->incs);
	for (i = 0; i < j->nkept; i++)
		free(j->kept[i].data);
	free(j->kept);
	free(j->sums);
	free(j->recs);
	free(j->key);
	sw_buf_release(&j->strings);
}

