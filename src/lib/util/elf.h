/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounds-checked reader of ELF headers over bytes in memory (32/64-bit,
 * either byte order): the file header, program headers and section names.
 * Shared by the heuristics (detect/heur.c) and the search for compressed
 * streams embedded in executables (scan/embedded.c). Every offset in the
 * file is attacker-written: each read is checked against the length.
 * Internal.
 */
#ifndef SW_UTIL_ELF_H
#define SW_UTIL_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SW_PT_LOAD = 1, SW_PT_INTERP = 3, SW_PF_X = 1, SW_ET_EXEC = 2, SW_ET_DYN = 3 };

typedef struct sw_elf {
	const uint8_t *p;       /* borrowed: the whole file */
	size_t n;
	bool is64, be;
	uint16_t type, machine, phnum, shnum, shstrndx, phentsize, shentsize;
	uint64_t phoff, shoff;
} sw_elf;

typedef struct sw_elf_seg {
	uint32_t type, flags;
	uint64_t off, filesz, memsz;
} sw_elf_seg;

/* Does p[0..n) start like an ELF file? */
bool sw_elf_is(const uint8_t *p, size_t n);

/* Read the file header; false when p is not an ELF file. e borrows p. */
bool sw_elf_open(sw_elf *e, const uint8_t *p, size_t n);

/* Program header i (i < phnum, at most the first 256); false when it lies
 * outside the file. */
bool sw_elf_segment(const sw_elf *e, unsigned i, sw_elf_seg *s);

/* The section called `name`: its file offset and size, clipped to the file
 * (at most the first 4096 sections are looked at). False when absent. */
bool sw_elf_section(const sw_elf *e, const char *name, uint64_t *off, uint64_t *size);

/* Does the program import `name` (an undefined symbol of .dynsym, named
 * in .dynstr)? Exports of a library do not count. At most 65,536 symbols
 * are read. */
bool sw_elf_imports(const sw_elf *e, const char *name);

/* Where the ELF's own structure ends: past every segment's and section's
 * file bytes and both header tables. Bytes after it (an "overlay") are
 * data appended to the program, which packers use to carry payloads. */
uint64_t sw_elf_extent(const sw_elf *e);

#endif
