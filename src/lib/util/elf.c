/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ELF headers read in place, every offset checked (see elf.h). Nothing here
 * follows pointers the file does not bound: tables are read entry by entry,
 * each entry checked against the length, with a cap on how many are read,
 * so a header that claims 65535 sections costs at most that cap.
 */
#include <string.h>

#include "elf.h"
#include "banned.h"

#define MAX_PH 256
#define MAX_SH 4096
#define SHT_NOBITS 8
#define MAX_SYMS 65536

static uint64_t rd(const uint8_t *p, size_t n, bool be)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[be ? n - 1 - i : i] << (8 * i);
	return v;
}

bool sw_elf_is(const uint8_t *p, size_t n)
{
	return n >= 52 && memcmp(p, "\x7f" "ELF", 4) == 0 && (p[4] == 1 || p[4] == 2) &&
	       (p[5] == 1 || p[5] == 2);
}

bool sw_elf_open(sw_elf *e, const uint8_t *p, size_t n)
{
	memset(e, 0, sizeof(*e));
	if (!sw_elf_is(p, n))
		return false;
	e->p = p;
	e->n = n;
	e->is64 = p[4] == 2;
	e->be = p[5] == 2;
	if (e->is64 && n < 64)
		return false;
	e->type = (uint16_t)rd(p + 16, 2, e->be);
	e->machine = (uint16_t)rd(p + 18, 2, e->be);
	/* the 32-bit header is the 64-bit one with 4-byte offsets: fields
	 * from phentsize on sit 12 bytes earlier */
	{
		size_t w = e->is64 ? 8 : 4, h = e->is64 ? 54 : 42;
		e->phoff = rd(p + (e->is64 ? 32 : 28), w, e->be);
		e->shoff = rd(p + (e->is64 ? 40 : 32), w, e->be);
		e->phentsize = (uint16_t)rd(p + h, 2, e->be);
		e->phnum = (uint16_t)rd(p + h + 2, 2, e->be);
		e->shentsize = (uint16_t)rd(p + h + 4, 2, e->be);
		e->shnum = (uint16_t)rd(p + h + 6, 2, e->be);
		e->shstrndx = (uint16_t)rd(p + h + 8, 2, e->be);
	}
	return true;
}

/* Entry i of a header table at `tab` (count entries of entsize bytes,
 * each at least `min`), or NULL when it is not wholly inside the file. */
static const uint8_t *entry(const sw_elf *e, uint64_t tab, unsigned i, uint16_t count, unsigned max,
			    uint16_t entsize, uint16_t min)
{
	uint64_t at;

	if (i >= count || i >= max || entsize < min || tab >= e->n)
		return NULL;
	at = tab + (uint64_t)i * entsize;
	if (at > e->n || e->n - at < entsize)
		return NULL;
	return e->p + at;
}

bool sw_elf_segment(const sw_elf *e, unsigned i, sw_elf_seg *s)
{
	const uint8_t *h = entry(e, e->phoff, i, e->phnum, MAX_PH, e->phentsize, e->is64 ? 56 : 32);

	if (!h)
		return false;
	s->type = (uint32_t)rd(h, 4, e->be);
	if (e->is64) {
		s->flags = (uint32_t)rd(h + 4, 4, e->be);
		s->off = rd(h + 8, 8, e->be);
		s->filesz = rd(h + 32, 8, e->be);
		s->memsz = rd(h + 40, 8, e->be);
	} else {
		s->off = rd(h + 4, 4, e->be);
		s->filesz = rd(h + 16, 4, e->be);
		s->memsz = rd(h + 20, 4, e->be);
		s->flags = (uint32_t)rd(h + 24, 4, e->be);
	}
	return true;
}

/* Section header i: its name offset, type, file offset and size. */
static bool section(const sw_elf *e, unsigned i, uint32_t *name, uint32_t *type, uint64_t *off,
		    uint64_t *size)
{
	const uint8_t *h = entry(e, e->shoff, i, e->shnum, MAX_SH, e->shentsize, e->is64 ? 64 : 40);

	if (!h)
		return false;
	*name = (uint32_t)rd(h, 4, e->be);
	*type = (uint32_t)rd(h + 4, 4, e->be);
	*off = e->is64 ? rd(h + 24, 8, e->be) : rd(h + 16, 4, e->be);
	*size = e->is64 ? rd(h + 32, 8, e->be) : rd(h + 20, 4, e->be);
	return true;
}

bool sw_elf_section(const sw_elf *e, const char *want, uint64_t *off, uint64_t *size)
{
	uint64_t str_off, str_size, o, z;
	uint32_t name, type;
	size_t wl = strlen(want);
	unsigned i;

	if (e->shstrndx >= e->shnum || !section(e, e->shstrndx, &name, &type, &str_off, &str_size) ||
	    str_off >= e->n || str_size > e->n - str_off)
		return false;
	for (i = 0; i < e->shnum && i < MAX_SH; i++) {
		if (!section(e, i, &name, &type, &o, &z))
			return false;
		if (name < str_size && str_size - name > wl &&
		    memcmp(e->p + str_off + name, want, wl + 1) == 0) {
			if (type == SHT_NOBITS || o >= e->n)
				o = z = 0;
			else if (z > e->n - o)
				z = e->n - o;
			*off = o;
			*size = z;
			return true;
		}
	}
	return false;
}

bool sw_elf_imports(const sw_elf *e, const char *name)
{
	uint64_t so, sz, to, tz, i, ent = e->is64 ? 24 : 16;
	size_t nl = strlen(name);

	if (!sw_elf_section(e, ".dynsym", &so, &sz) || !sw_elf_section(e, ".dynstr", &to, &tz))
		return false;
	for (i = 0; i + ent <= sz && i / ent < MAX_SYMS; i += ent) {
		const uint8_t *s = e->p + so + i;
		uint64_t nm = rd(s, 4, e->be);
		uint16_t shndx = (uint16_t)rd(s + (e->is64 ? 6 : 14), 2, e->be);
		if (shndx == 0 && nm < tz && tz - nm > nl && memcmp(e->p + to + nm, name, nl + 1) == 0)
			return true;
	}
	return false;
}

static uint64_t end_of(uint64_t off, uint64_t size, uint64_t cur)
{
	return off + size >= off && off + size > cur ? off + size : cur; /* a wrap is ignored */
}

uint64_t sw_elf_extent(const sw_elf *e)
{
	uint64_t end = e->is64 ? 64 : 52, o, z;
	uint32_t name, type;
	sw_elf_seg s;
	unsigned i;

	end = end_of(e->phoff, (uint64_t)e->phnum * e->phentsize, end);
	for (i = 0; sw_elf_segment(e, i, &s); i++)
		end = end_of(s.off, s.filesz, end);
	if (e->shnum)
		end = end_of(e->shoff, (uint64_t)e->shnum * e->shentsize, end);
	for (i = 0; section(e, i, &name, &type, &o, &z); i++)
		if (type != SHT_NOBITS)
			end = end_of(o, z, end);
	return end > e->n ? e->n : end;
}
