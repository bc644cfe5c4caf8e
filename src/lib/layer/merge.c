/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Laying layers over each other (OCI image-spec "Applying changesets").
 *
 * The tree is a trie of path components. Each node knows the entry that
 * made it (origin) and the entry whose bytes it holds (content: the same
 * entry, or for a hardlink the target's content at the time the link was
 * applied). A reference count per entry says how many final nodes hold its
 * content, which answers the question a scanner cares about in O(1): is this
 * file, which some layer added, still in the image a user runs, or did a
 * later layer delete or replace it (while every pull still downloads it)?
 *
 * Per layer, as the runtimes apply a layer tar: entries and whiteouts in
 * stream order (a whiteout removes what is there when it is met, so a
 * hardlink made earlier in the layer keeps its target's bytes alive), and
 * opaque markers at the end of the layer, hiding every child of the
 * directory that this layer did not itself write.
 * Children are found through one hash table keyed by (parent, name); a
 * subtree removal walks only that subtree. Memory is a node per live path.
 */
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "../util/util.h"
#include "../util/banned.h"

#define NONE ((uint32_t)-1)

typedef struct node {
	struct node *parent, *child, *sib, *hnext;
	const char *name;
	size_t nlen;
	uint32_t olayer, orec;   /* origin: NONE for implicit parents */
	uint32_t clayer, crec;   /* content origin */
	uint32_t touched;        /* last layer that wrote or declared the node */
	char type;
} node;

struct sw_merge {
	node root;
	node **tab;
	size_t tabsz, count;
	uint32_t **live;         /* live[layer][rec]: final nodes holding that content */
	uint32_t **dead;         /* dead[layer][rec]: layer that took the last one away */
	size_t *nlive;
	size_t nlayers;
	uint32_t cur;            /* layer being applied */
};

sw_marker sw_marker_kind(const char *base, size_t n, const char **target)
{
	const char *t;
	size_t tn;

	if (target)
		*target = NULL;
	if (n < 4 || memcmp(base, ".wh.", 4) != 0)
		return SW_MARK_NONE;
	if (n == 12 && memcmp(base, ".wh..wh..opq", 12) == 0)
		return SW_MARK_OPAQUE;
	if (n >= 8 && memcmp(base, ".wh..wh.", 8) == 0)
		return SW_MARK_META;
	t = base + 4;
	tn = n - 4;
	if (tn == 0 || (tn == 1 && t[0] == '.') || (tn == 2 && t[0] == '.' && t[1] == '.') ||
	    memchr(t, '/', tn) || memchr(t, '\0', tn))
		return SW_MARK_HOSTILE;
	if (target)
		*target = t;
	return SW_MARK_WHITEOUT;
}

static size_t hkey(const node *parent, const char *name, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)parent;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

sw_merge *sw_merge_new(size_t nlayers)
{
	sw_merge *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->tabsz = 1024;
	m->tab = calloc(m->tabsz, sizeof(*m->tab));
	m->live = calloc(nlayers + 1, sizeof(*m->live));
	m->dead = calloc(nlayers + 1, sizeof(*m->dead));
	m->nlive = calloc(nlayers + 1, sizeof(*m->nlive));
	m->nlayers = nlayers;
	m->root.type = '5';
	m->root.olayer = m->root.clayer = NONE;
	if (!m->tab || !m->live || !m->dead || !m->nlive) {
		sw_merge_free(m);
		return NULL;
	}
	return m;
}

static void free_subtree(node *n)
{
	node *c = n->child, *next;

	/* iterative: descend through first children, free on the way back */
	while (c) {
		if (c->child) {
			node *gc = c->child;
			c->child = NULL;
			/* splice grandchildren in front of c's siblings */
			node *last = gc;
			while (last->sib)
				last = last->sib;
			last->sib = c->sib;
			c->sib = gc;
		}
		next = c->sib;
		free(c);
		c = next;
	}
	n->child = NULL;
}

void sw_merge_free(sw_merge *m)
{
	size_t i;

	if (!m)
		return;
	free_subtree(&m->root);
	free(m->tab);
	for (i = 0; m->live && i < m->nlayers; i++)
		free(m->live[i]);
	for (i = 0; m->dead && i < m->nlayers; i++)
		free(m->dead[i]);
	free(m->live);
	free(m->dead);
	free(m->nlive);
	free(m);
}

static node *find(const sw_merge *m, const node *parent, const char *name, size_t n)
{
	node *x = m->tab[hkey(parent, name, n) & (m->tabsz - 1)];

	for (; x; x = x->hnext)
		if (x->parent == parent && x->nlen == n && memcmp(x->name, name, n) == 0)
			return x;
	return NULL;
}

static int grow(sw_merge *m)
{
	size_t nsz = m->tabsz * 2, i;
	node **nt = calloc(nsz, sizeof(*nt));

	if (!nt)
		return SW_ENOMEM;
	for (i = 0; i < m->tabsz; i++) {
		node *x = m->tab[i], *next;
		for (; x; x = next) {
			size_t h = hkey(x->parent, x->name, x->nlen) & (nsz - 1);
			next = x->hnext;
			x->hnext = nt[h];
			nt[h] = x;
		}
	}
	free(m->tab);
	m->tab = nt;
	m->tabsz = nsz;
	return 0;
}

static void live_add(sw_merge *m, const node *n, int delta)
{
	uint32_t *c;

	if (n->clayer == NONE || n->clayer >= m->nlayers || n->crec >= m->nlive[n->clayer])
		return;
	c = &m->live[n->clayer][n->crec];
	*c += (uint32_t)delta;
	if (*c == 0)
		m->dead[n->clayer][n->crec] = m->cur;
}

static void unhash(sw_merge *m, node *n)
{
	node **pp = &m->tab[hkey(n->parent, n->name, n->nlen) & (m->tabsz - 1)];

	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	live_add(m, n, -1);
	m->count--;
}

/* Remove n's descendants (keep_self) or n and its descendants. */
static void remove_tree(sw_merge *m, node *n, bool keep_self)
{
	node *stack_top = n->child, *c;

	/* unhash every descendant: walk with an explicit pointer chase */
	while (stack_top) {
		c = stack_top;
		unhash(m, c);
		if (c->child) {
			node *last = c->child;
			while (last->sib)
				last = last->sib;
			last->sib = c->sib;
			stack_top = c->child;
			c->child = NULL;
		} else {
			stack_top = c->sib;
		}
		free(c);
	}
	n->child = NULL;
	if (keep_self)
		return;
	unhash(m, n);
	if (n->parent) {
		node **pp = &n->parent->child;
		while (*pp && *pp != n)
			pp = &(*pp)->sib;
		if (*pp)
			*pp = n->sib;
	}
	free(n);
}

static node *add_child(sw_merge *m, node *parent, const char *name, size_t n)
{
	node *x;
	size_t h;

	if (m->count + 1 > m->tabsz && grow(m) < 0)
		return NULL;
	if (!(x = calloc(1, sizeof(*x))))
		return NULL;
	x->parent = parent;
	x->name = name;
	x->nlen = n;
	x->olayer = x->orec = x->clayer = x->crec = NONE;
	x->touched = m->cur;
	x->type = '5';
	x->sib = parent->child;
	parent->child = x;
	h = hkey(parent, name, n) & (m->tabsz - 1);
	x->hnext = m->tab[h];
	m->tab[h] = x;
	m->count++;
	return x;
}

/* Walk to path's node. create: make missing parents as implicit dirs.
 * *blocked is set to the first non-directory met on the way. */
static node *walk(sw_merge *m, const char *path, bool create, bool parent_only,
		  node **blocked)
{
	node *cur = &m->root;
	const char *p = path;

	*blocked = NULL;
	while (*p == '/')
		p++;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		node *nx;
		if (parent_only && !e)
			return cur;
		if (cur->type != '5') {
			*blocked = cur;
			return NULL;
		}
		nx = find(m, cur, p, n);
		if (!nx) {
			if (!create)
				return NULL;
			if (!(nx = add_child(m, cur, p, n)))
				return NULL;
		}
		if (create)
			nx->touched = m->cur; /* written under: an opaque marker keeps it */
		cur = nx;
		p = e ? e + 1 : p + n;
		while (*p == '/')
			p++;
	}
	return cur;
}

static const char *base_name(const char *path, size_t *n)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	*n = strlen(b);
	return b;
}

static int put_entry(sw_merge *m, size_t layer, size_t i, const sw_mrec *r,
		     sw_merge_issue_fn issue, void *ctx)
{
	node *parent, *blocked, *old, *x, *target = NULL;
	uint32_t tlayer = NONE, trec = NONE;
	char ttype = 0;
	const char *name;
	size_t nlen;

	if (r->path[0] == '/' && r->path[1] == '\0') {
		m->root.olayer = (uint32_t)layer; /* attributes of / */
		m->root.orec = (uint32_t)i;
		return 0;
	}
	if (r->type == '1' && r->link) {
		target = walk(m, r->link, false, false, &blocked);
		if (!target || target->type == '5') {
			if (issue)
				issue(ctx, layer, i, "hardlink target is missing or a directory");
			return 0;
		}
		/* Copy what the link shares now: replacing the old entry below
		 * may free the target (a link to itself or into the subtree). */
		ttype = target->type;
		tlayer = target->clayer;
		trec = target->crec;
	}
	parent = walk(m, r->path, true, true, &blocked);
	if (!parent) {
		if (blocked && issue)
			issue(ctx, layer, i, blocked->type == '2' ?
			      "path passes through a symlink; a runtime would resolve it inside the root" :
			      "path passes through a non-directory");
		return blocked ? 0 : SW_ENOMEM;
	}
	if (parent->type != '5') {
		if (issue)
			issue(ctx, layer, i, parent->type == '2' ?
			      "path passes through a symlink; a runtime would resolve it inside the root" :
			      "parent is not a directory");
		return 0;
	}
	name = base_name(r->path, &nlen);
	old = find(m, parent, name, nlen);
	if (old && old->type == '5' && r->type == '5') {
		old->olayer = (uint32_t)layer; /* keep children, take attributes */
		old->orec = (uint32_t)i;
		old->touched = (uint32_t)layer;
		return 0;
	}
	if (old)
		remove_tree(m, old, false);
	if (!(x = add_child(m, parent, name, nlen)))
		return SW_ENOMEM;
	x->type = target ? ttype : r->type;
	x->olayer = (uint32_t)layer;
	x->orec = (uint32_t)i;
	if (target) {
		x->clayer = tlayer;
		x->crec = trec;
	} else {
		x->clayer = (uint32_t)layer;
		x->crec = (uint32_t)i;
	}
	live_add(m, x, +1);
	return 0;
}

/* Opaque directory: drop every descendant this layer did not write. */
static void prune(sw_merge *m, node *dir, uint32_t layer, unsigned depth)
{
	node *c = dir->child, *next;

	for (; c; c = next) {
		next = c->sib;
		if (c->touched != layer)
			remove_tree(m, c, false);
		else if (c->type == '5' && depth < 4096)
			prune(m, c, layer, depth + 1);
	}
}

int sw_merge_apply(sw_merge *m, size_t layer, const sw_mrec *recs, size_t n,
		   sw_merge_issue_fn issue, void *ctx)
{
	node *x, *blocked;
	size_t i;
	int rc;

	if (layer >= m->nlayers)
		return SW_EINVAL;
	if (!(m->live[layer] = calloc(n + 1, sizeof(uint32_t))) ||
	    !(m->dead[layer] = malloc((n + 1) * sizeof(uint32_t))))
		return SW_ENOMEM;
	memset(m->dead[layer], 0xff, (n + 1) * sizeof(uint32_t)); /* NONE */
	m->nlive[layer] = n;
	m->cur = (uint32_t)layer;
	for (i = 0; i < n; i++) {
		if (recs[i].flags & (SW_MREC_OPAQUE | SW_MREC_UNPLACED))
			continue;
		if (recs[i].flags & SW_MREC_WHITEOUT) {
			size_t bl;
			const char *b = base_name(recs[i].path, &bl);
			/* the scan never records such a whiteout; a cache entry
			 * or a future caller might: it deletes nothing */
			if (bl == 0 || (bl == 1 && b[0] == '.') || (bl == 2 && b[0] == '.' && b[1] == '.')) {
				if (issue)
					issue(ctx, layer, i, "whiteout names no entry (\"\", \".\" or \"..\"): ignored");
				continue;
			}
			if ((x = walk(m, recs[i].path, false, false, &blocked)) && x != &m->root)
				remove_tree(m, x, false);
			continue;
		}
		if ((rc = put_entry(m, layer, i, &recs[i], issue, ctx)) < 0)
			return rc;
	}
	for (i = 0; i < n; i++)
		if ((recs[i].flags & SW_MREC_OPAQUE) &&
		    (x = walk(m, recs[i].path, false, false, &blocked)) && x->type == '5')
			prune(m, x, (uint32_t)layer, 0);
	return 0;
}

bool sw_merge_live(const sw_merge *m, size_t layer, size_t rec)
{
	return layer < m->nlayers && m->live[layer] && rec < m->nlive[layer] &&
	       m->live[layer][rec] > 0;
}

long sw_merge_removed_by(const sw_merge *m, size_t layer, size_t rec)
{
	if (layer >= m->nlayers || !m->dead[layer] || rec >= m->nlive[layer] ||
	    m->live[layer][rec] > 0 || m->dead[layer][rec] == NONE)
		return -1;
	return (long)m->dead[layer][rec];
}

bool sw_merge_lookup(const sw_merge *m, const char *path, size_t *layer, size_t *rec)
{
	node *blocked, *x = walk((sw_merge *)m, path, false, false, &blocked);

	if (!x || x->olayer == NONE)
		return false;
	*layer = x->olayer;
	*rec = x->orec;
	return true;
}

size_t sw_merge_count(const sw_merge *m)
{
	return m->count;
}
