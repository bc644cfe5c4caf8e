/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A push-driven tar parser: bytes go in through sw_tar_feed in chunks of any
 * size (straight from the decompressor), and entries come out through
 * callbacks, their data passed through without copying. Nothing is
 * buffered except one header block and the PAX/GNU long-name records, which
 * are bounded by max_meta.
 *
 * Formats: ustar (prefix + name), GNU ("ustar  " magic; 'L'/'K' long names;
 * base-256 numbers), PAX ('x' records override the header and any 'L'/'K';
 * 'g' records are parsed and ignored, as container runtimes do). Checksums
 * are verified: a layer whose header does not add up is rejected, because
 * the runtime that pulls it would reject it too and two readers must never
 * see different files in the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "tar.h"
#include "../util/banned.h"

enum { ST_HDR, ST_META, ST_DATA, ST_PAD, ST_END };

struct sw_tar {
	sw_tar_cb cb;
	size_t max_meta;
	int state;
	uint8_t blk[SW_TAR_BLOCK];
	size_t blk_len;
	uint64_t remain, pad, pos, entries;
	int zero_blocks;
	bool trailing;
	char meta_type;             /* which record ST_META collects */
	sw_buf meta;
	/* pending overrides for the next entry */
	sw_buf pax_path, pax_link, gnu_name, gnu_link;
	bool have_pax_path, have_pax_link, have_gnu_name, have_gnu_link;
	bool have_pax_size, pax_sparse;
	uint64_t pax_size, pax_uid, pax_gid;
	bool have_pax_uid, have_pax_gid;
	sw_tar_xattr *xattrs;
	size_t nxattrs;
	sw_tar_hdr hdr;
};

static uint64_t parse_num(const char *p, size_t n, bool *ok)
{
	uint64_t v = 0;
	size_t i = 0;

	*ok = true;
	if (n && ((unsigned char)p[0] & 0x80)) {
		/* GNU base-256: big-endian, first byte's top bit is the marker */
		if ((unsigned char)p[0] & 0x40) { /* negative: not for us */
			*ok = false;
			return 0;
		}
		v = (unsigned char)p[0] & 0x3F;
		for (i = 1; i < n; i++) {
			if (v >> 56) {
				*ok = false;
				return 0;
			}
			v = v << 8 | (unsigned char)p[i];
		}
		return v;
	}
	while (i < n && (p[i] == ' ' || p[i] == '\0'))
		i++;
	if (i == n)
		return 0;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v >> 60) {
			*ok = false;
			return 0;
		}
		v = v << 3 | (uint64_t)(p[i] - '0');
	}
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != '\0') {
			*ok = false;
			return 0;
		}
	return v;
}

static size_t field_len(const char *p, size_t n)
{
	const char *z = memchr(p, '\0', n);
	return z ? (size_t)(z - p) : n;
}

int sw_tar__parse_header(const uint8_t blk[SW_TAR_BLOCK], sw_tar_hdr *h, sw_error *err)
{
	const char *b = (const char *)blk;
	uint64_t sum = 0, want;
	bool ok, ok2, ok3, ok4, ok5;
	size_t i, nl, pl;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < SW_TAR_BLOCK; i++)
		if (blk[i])
			break;
	if (i == SW_TAR_BLOCK) {
		h->zero = true;
		return 0;
	}
	for (i = 0; i < SW_TAR_BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : blk[i];
	want = parse_num(b + 148, 8, &ok);
	if (!ok || want != sum)
		return sw_error_set(err, SW_EFORMAT, "tar: header checksum mismatch");
	h->mode = (uint32_t)parse_num(b + 100, 8, &ok);
	h->uid = parse_num(b + 108, 8, &ok2);
	h->gid = parse_num(b + 116, 8, &ok3);
	h->size = parse_num(b + 124, 12, &ok4);
	h->mtime = (int64_t)parse_num(b + 136, 12, &ok5);
	if (!ok || !ok2 || !ok3 || !ok4)
		return sw_error_set(err, SW_EFORMAT, "tar: bad number in header");
	h->type = b[156] ? b[156] : '0';
	nl = field_len(b, 100);
	pl = 0;
	if (memcmp(b + 257, "ustar\0", 6) == 0)
		pl = field_len(b + 345, 155); /* POSIX prefix; GNU uses it otherwise */
	if (pl) {
		memcpy(h->name, b + 345, pl);
		h->name[pl] = '/';
		memcpy(h->name + pl + 1, b, nl);
		h->name[pl + 1 + nl] = '\0';
	} else {
		memcpy(h->name, b, nl);
		h->name[nl] = '\0';
	}
	nl = field_len(b + 157, 100);
	memcpy(h->link, b + 157, nl);
	h->link[nl] = '\0';
	return 0;
}

int sw_tar__parse_pax(const char *p, size_t n,
		      int (*fn)(void *ctx, const char *key, size_t klen,
				const char *val, size_t vlen),
		      void *ctx, sw_error *err)
{
	size_t off = 0;
	int rc;

	while (off < n) {
		size_t len = 0, i = off, eq;
		while (i < n && p[i] >= '0' && p[i] <= '9' && i - off < 12)
			len = len * 10 + (size_t)(p[i++] - '0');
		if (i >= n || p[i] != ' ' || len == 0 || len > n - off ||
		    p[off + len - 1] != '\n')
			return sw_error_set(err, SW_EFORMAT, "tar: malformed PAX record");
		i++;
		for (eq = i; eq < off + len - 1 && p[eq] != '='; eq++)
			;
		if (eq >= off + len - 1 || eq == i)
			return sw_error_set(err, SW_EFORMAT, "tar: malformed PAX record");
		if ((rc = fn(ctx, p + i, eq - i, p + eq + 1, off + len - 1 - (eq + 1))) < 0)
			return rc;
		off += len;
	}
	return 0;
}

sw_tar *sw_tar_new(const sw_tar_cb *cb, size_t max_meta)
{
	sw_tar *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cb = *cb;
	t->max_meta = max_meta;
	t->meta = (sw_buf)SW_BUF_INIT(max_meta);
	t->pax_path = (sw_buf)SW_BUF_INIT(max_meta);
	t->pax_link = (sw_buf)SW_BUF_INIT(max_meta);
	t->gnu_name = (sw_buf)SW_BUF_INIT(max_meta);
	t->gnu_link = (sw_buf)SW_BUF_INIT(max_meta);
	return t;
}

static void clear_xattrs(sw_tar *t)
{
	size_t i;

	for (i = 0; i < t->nxattrs; i++) {
		free(t->xattrs[i].name);
		free(t->xattrs[i].value);
	}
	free(t->xattrs);
	t->xattrs = NULL;
	t->nxattrs = 0;
}

static void clear_pending(sw_tar *t)
{
	t->have_pax_path = t->have_pax_link = t->have_gnu_name = false;
	t->have_gnu_link = t->have_pax_size = t->pax_sparse = false;
	t->have_pax_uid = t->have_pax_gid = false;
	clear_xattrs(t);
}

void sw_tar_free(sw_tar *t)
{
	if (!t)
		return;
	clear_xattrs(t);
	sw_buf_release(&t->meta);
	sw_buf_release(&t->pax_path);
	sw_buf_release(&t->pax_link);
	sw_buf_release(&t->gnu_name);
	sw_buf_release(&t->gnu_link);
	free(t);
}

uint64_t sw_tar_entries(const sw_tar *t)
{
	return t->entries;
}

static bool key_is(const char *k, size_t kl, const char *lit)
{
	return strlen(lit) == kl && memcmp(k, lit, kl) == 0;
}

static int pax_num(const char *v, size_t vl, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	if (vl == 0 || vl > 19)
		return SW_EFORMAT;
	for (i = 0; i < vl; i++) {
		if (v[i] < '0' || v[i] > '9')
			return SW_EFORMAT;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

static int on_pax(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
	sw_tar *t = ctx;
	sw_tar_xattr *x;

	if (key_is(k, kl, "path")) {
		sw_buf_reset(&t->pax_path);
		t->have_pax_path = true;
		return sw_buf_append(&t->pax_path, v, vl);
	}
	if (key_is(k, kl, "linkpath")) {
		sw_buf_reset(&t->pax_link);
		t->have_pax_link = true;
		return sw_buf_append(&t->pax_link, v, vl);
	}
	if (key_is(k, kl, "size")) {
		t->have_pax_size = true;
		return pax_num(v, vl, &t->pax_size);
	}
	if (key_is(k, kl, "uid")) {
		t->have_pax_uid = true;
		return pax_num(v, vl, &t->pax_uid);
	}
	if (key_is(k, kl, "gid")) {
		t->have_pax_gid = true;
		return pax_num(v, vl, &t->pax_gid);
	}
	if (kl >= 10 && memcmp(k, "GNU.sparse", 10) == 0) {
		t->pax_sparse = true;
		return 0;
	}
	if (kl > 13 && memcmp(k, "SCHILY.xattr.", 13) == 0) {
		if (t->nxattrs >= 64)
			return SW_ELIMIT;
		if (SW_GROW(t->xattrs, t->nxattrs) < 0)
			return SW_ENOMEM;
		x = &t->xattrs[t->nxattrs];
		x->name = sw__strndup(k + 13, kl - 13);
		x->value = sw__strndup(v, vl);
		x->value_len = vl;
		if (!x->name || !x->value) {
			free(x->name);
			free(x->value);
			return SW_ENOMEM;
		}
		t->nxattrs++;
	}
	return 0;
}

static int begin_entry(sw_tar *t, sw_error *err)
{
	sw_tar_hdr *h = &t->hdr;
	sw_tar_entry e;
	int rc;

	memset(&e, 0, sizeof(e));
	if (t->have_pax_path) {
		e.name = sw_buf_cstr(&t->pax_path);
		e.name_len = t->pax_path.len;
	} else if (t->have_gnu_name) {
		/* GNU long names are NUL-terminated inside their record */
		e.name = sw_buf_cstr(&t->gnu_name);
		e.name_len = strnlen(e.name, t->gnu_name.len);
	} else {
		e.name = h->name;
		e.name_len = strlen(h->name);
	}
	if (t->have_pax_link)
		e.link = sw_buf_cstr(&t->pax_link);
	else if (t->have_gnu_link)
		e.link = sw_buf_cstr(&t->gnu_link);
	else
		e.link = h->link;
	e.type = h->type == '7' ? '0' : h->type;
	e.size = t->have_pax_size ? t->pax_size : h->size;
	e.mode = h->mode;
	e.uid = t->have_pax_uid ? t->pax_uid : h->uid;
	e.gid = t->have_pax_gid ? t->pax_gid : h->gid;
	e.mtime = h->mtime;
	e.xattrs = t->xattrs;
	e.nxattrs = t->nxattrs;
	e.sparse = t->pax_sparse || h->type == 'S';
	e.offset = t->pos;
	/* Links, directories and devices carry no data, whatever size says. */
	if (e.type == '1' || e.type == '2' || e.type == '3' || e.type == '4' ||
	    e.type == '5' || e.type == '6')
		e.size = 0;
	t->entries++;
	rc = t->cb.entry ? t->cb.entry(t->cb.ctx, &e) : 0;
	clear_pending(t);
	if (rc < 0)
		return err && err->code == rc ? rc : sw_error_set(err, rc, "tar: entry %llu rejected",
								 (unsigned long long)t->entries);
	t->remain = e.size;
	t->pad = (SW_TAR_BLOCK - e.size % SW_TAR_BLOCK) % SW_TAR_BLOCK;
	t->state = ST_DATA;
	if (t->remain == 0) {
		if (t->cb.entry_end && (rc = t->cb.entry_end(t->cb.ctx)) < 0)
			return rc;
		t->state = t->pad ? ST_PAD : ST_HDR;
	}
	return 0;
}

static int end_meta(sw_tar *t, sw_error *err)
{
	int rc = 0;

	switch (t->meta_type) {
	case 'x':
		rc = sw_tar__parse_pax(t->meta.data, t->meta.len, on_pax, t, err);
		if (rc < 0 && err && err->code != rc)
			sw_error_set(err, rc, "tar: PAX header: %s",
				     rc == SW_ELIMIT ? "too many xattrs" : "bad value");
		break;
	case 'g':
		break;
	case 'L':
		sw_buf_reset(&t->gnu_name);
		rc = sw_buf_append(&t->gnu_name, t->meta.data, t->meta.len);
		t->have_gnu_name = true;
		break;
	case 'K':
		sw_buf_reset(&t->gnu_link);
		rc = sw_buf_append(&t->gnu_link, t->meta.data, t->meta.len);
		t->have_gnu_link = true;
		break;
	}
	sw_buf_reset(&t->meta);
	return rc;
}

static int on_header(sw_tar *t, sw_error *err)
{
	int rc;

	if ((rc = sw_tar__parse_header(t->blk, &t->hdr, err)) < 0)
		return sw_error_prefix(err, "at offset %llu",
				       (unsigned long long)(t->pos - SW_TAR_BLOCK));
	if (t->hdr.zero) {
		if (++t->zero_blocks >= 2)
			t->state = ST_END;
		return 0;
	}
	t->zero_blocks = 0;
	switch (t->hdr.type) {
	case 'x': case 'g': case 'L': case 'K':
		if (t->hdr.size > t->max_meta)
			return sw_error_set(err, SW_ELIMIT,
					    "tar: %c record of %llu bytes exceeds %zu",
					    t->hdr.type, (unsigned long long)t->hdr.size, t->max_meta);
		t->meta_type = t->hdr.type;
		t->remain = t->hdr.size;
		t->pad = (SW_TAR_BLOCK - t->hdr.size % SW_TAR_BLOCK) % SW_TAR_BLOCK;
		sw_buf_reset(&t->meta);
		t->state = ST_META;
		if (t->remain == 0) {
			if ((rc = end_meta(t, err)) < 0)
				return rc;
			t->state = t->pad ? ST_PAD : ST_HDR;
		}
		return 0;
	default:
		return begin_entry(t, err);
	}
}

int sw_tar_feed(sw_tar *t, const uint8_t *p, size_t n, sw_error *err)
{
	int rc;

	while (n) {
		size_t k;
		switch (t->state) {
		case ST_HDR:
			k = SW_TAR_BLOCK - t->blk_len;
			if (k > n)
				k = n;
			memcpy(t->blk + t->blk_len, p, k);
			t->blk_len += k;
			p += k, n -= k, t->pos += k;
			if (t->blk_len == SW_TAR_BLOCK) {
				t->blk_len = 0;
				if ((rc = on_header(t, err)) < 0)
					return rc;
			}
			break;
		case ST_META:
		case ST_DATA:
			k = t->remain < n ? (size_t)t->remain : n;
			if (t->state == ST_META)
				rc = sw_buf_append(&t->meta, p, k);
			else
				rc = t->cb.data ? t->cb.data(t->cb.ctx, p, k) : 0;
			if (rc < 0)
				return err && err->code == rc ? rc :
					sw_error_set(err, rc, "tar: entry data rejected");
			p += k, n -= k, t->pos += k;
			t->remain -= k;
			if (t->remain == 0) {
				if (t->state == ST_META)
					rc = end_meta(t, err);
				else
					rc = t->cb.entry_end ? t->cb.entry_end(t->cb.ctx) : 0;
				if (rc < 0)
					return rc;
				t->state = t->pad ? ST_PAD : ST_HDR;
			}
			break;
		case ST_PAD:
			k = t->pad < n ? (size_t)t->pad : n;
			p += k, n -= k, t->pos += k;
			t->pad -= k;
			if (t->pad == 0)
				t->state = ST_HDR;
			break;
		case ST_END:
			for (k = 0; k < n; k++)
				if (p[k]) {
					t->trailing = true;
					break;
				}
			t->pos += n;
			n = 0;
			break;
		}
	}
	return 0;
}

int sw_tar_finish(sw_tar *t, bool *trailing, sw_error *err)
{
	if (trailing)
		*trailing = t->trailing;
	if (t->state == ST_DATA || t->state == ST_META)
		return sw_error_set(err, SW_EFORMAT,
				    "tar: truncated: stream ended %llu bytes into an entry's %llu missing bytes",
				    (unsigned long long)t->pos, (unsigned long long)t->remain);
	if (t->state == ST_HDR && t->blk_len)
		return sw_error_set(err, SW_EFORMAT, "tar: truncated header at offset %llu",
				    (unsigned long long)t->pos);
	return 0;
}
