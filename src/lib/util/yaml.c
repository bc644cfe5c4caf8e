/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded YAML reader over libyaml's event API: documents become trees of
 * maps, sequences and scalars, each node with its line. Policies, Kubernetes
 * manifests and compose files are attacker-reachable text (a pull request
 * can change them), so:
 *   - anchors and aliases are refused (an alias bomb expands a few hundred
 *     bytes into gigabytes; no policy or manifest we read needs them),
 *   - input size, node count, depth, scalar length and document count are
 *     bounded,
 *   - a key given twice in one map is an error (two readers must not see
 *     two different policies in the same bytes),
 *   - invalid UTF-8 is an error (libyaml's reader checks it), with its line.
 * Tags are ignored: every scalar is text; the caller decides what it means.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "util.h"
#include "banned.h"

#define MAX_NODES 1000000
#define MAX_DEPTH 64
#define MAX_SCALAR (1u << 20)
#define MAX_DOCS 10000

struct sw_yaml_doc {
	sw_yaml **docs;
	size_t ndocs;
	size_t nodes;
};

static void node_free(sw_yaml *n)
{
	while (n) {
		sw_yaml *next = n->next;
		node_free(n->child);
		free(n->key);
		free(n->s);
		free(n);
		n = next;
	}
}

void sw_yaml_free(sw_yaml_doc *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->ndocs; i++)
		node_free(d->docs[i]);
	free(d->docs);
	free(d);
}

typedef struct frame {
	sw_yaml *node, *last;
	char *pending_key;  /* maps: the key read, waiting for its value */
	int key_line;
} frame;

static int fail(sw_error *err, const char *name, size_t line, const char *msg)
{
	sw_error_set(err, SW_EFORMAT, "%s:%zu: %s", name, line, msg);
	if (err)
		err->line = line > INT32_MAX ? 0 : (int)line;
	return SW_EFORMAT;
}

/* Attach a finished node to the frame on top (or make it the document). */
static int attach(frame *st, int depth, sw_yaml *n, sw_yaml **root, const char *name, sw_error *err)
{
	frame *f;
	sw_yaml *c;

	if (depth == 0) {
		*root = n;
		return 0;
	}
	f = &st[depth - 1];
	if (f->node->type == SW_YAML_MAP) {
		if (!f->pending_key) {
			/* n is a key: only scalars may be keys */
			if (n->type != SW_YAML_SCALAR) {
				int line = n->line;
				node_free(n);
				return fail(err, name, (size_t)line, "a mapping key must be a plain value");
			}
			for (c = f->node->child; c; c = c->next)
				if (strcmp(c->key, n->s) == 0) {
					int line = n->line;
					char msg[300];
					snprintf(msg, sizeof(msg), "key \"%.200s\" given twice (first on line %d)", n->s,
						 c->line);
					node_free(n);
					return fail(err, name, (size_t)line, msg);
				}
			f->pending_key = n->s;
			f->key_line = n->line;
			n->s = NULL;
			node_free(n);
			return 0;
		}
		n->key = f->pending_key;
		n->line = f->key_line;
		f->pending_key = NULL;
	}
	if (f->last)
		f->last->next = n;
	else
		f->node->child = n;
	f->last = n;
	f->node->n++;
	return 0;
}

int sw_yaml_parse(const char *p, size_t len, const char *name, sw_yaml_doc **out, sw_error *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	frame st[MAX_DEPTH + 1];
	int depth = 0, rc = 0, done = 0, i;
	sw_yaml *root = NULL;
	sw_yaml_doc *d;

	*out = NULL;
	if (len > SW_YAML_MAX_INPUT)
		return sw_error_set(err, SW_ELIMIT, "%s: larger than %d MiB", name, SW_YAML_MAX_INPUT >> 20);
	if (!(d = calloc(1, sizeof(*d))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	if (!yaml_parser_initialize(&parser)) {
		free(d);
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)p, len);
	memset(st, 0, sizeof(st));
	while (!done && rc == 0) {
		sw_yaml *n = NULL;
		if (!yaml_parser_parse(&parser, &ev)) {
			char msg[300];
			snprintf(msg, sizeof(msg), "%s%s%s", parser.problem ? parser.problem : "syntax error",
				 parser.context ? " " : "", parser.context ? parser.context : "");
			size_t line = parser.problem_mark.line + 1, k, last = 1;
			if (parser.error == YAML_READER_ERROR) /* an offset, not a mark */
				for (line = 1, k = 0; k < parser.problem_offset && k < len; k++)
					line += p[k] == '\n';
			/* at the end of the input libyaml's mark can be one line past
			 * the last: name the last line there is */
			for (k = 0; k < len; k++)
				last += p[k] == '\n' || (p[k] == '\r' && (k + 1 == len || p[k + 1] != '\n'));
			rc = fail(err, name, line < last ? line : last, msg);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			root = NULL;
			if (d->ndocs >= MAX_DOCS)
				rc = fail(err, name, ev.start_mark.line + 1, "too many documents");
			break;
		case YAML_DOCUMENT_END_EVENT: {
			if (SW_GROW(d->docs, d->ndocs) < 0) {
				node_free(root);
				rc = sw_error_set(err, SW_ENOMEM, "out of memory");
				break;
			}
			/* an empty document reads as an empty plain scalar: none */
			if (root && root->type == SW_YAML_SCALAR && root->plain && !root->slen) {
				node_free(root);
				root = NULL;
			}
			d->docs[d->ndocs++] = root;
			root = NULL;
			break;
		}
		case YAML_ALIAS_EVENT:
			rc = fail(err, name, ev.start_mark.line + 1,
				  "aliases (*name) are not accepted: write the value out");
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			const unsigned char *anchor = ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.anchor :
						      ev.type == YAML_SEQUENCE_START_EVENT ?
							      ev.data.sequence_start.anchor :
							      ev.data.mapping_start.anchor;
			if (anchor) {
				rc = fail(err, name, ev.start_mark.line + 1,
					  "anchors (&name) are not accepted: write the value out");
				break;
			}
			if (++d->nodes > MAX_NODES) {
				rc = fail(err, name, ev.start_mark.line + 1, "too many values (over 1,000,000)");
				break;
			}
			if (!(n = calloc(1, sizeof(*n)))) {
				rc = sw_error_set(err, SW_ENOMEM, "out of memory");
				break;
			}
			n->line = (int)ev.start_mark.line + 1;
			if (ev.type == YAML_SCALAR_EVENT) {
				if (ev.data.scalar.length > MAX_SCALAR) {
					free(n);
					rc = fail(err, name, ev.start_mark.line + 1, "a value longer than 1 MiB");
					break;
				}
				n->type = SW_YAML_SCALAR;
				n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
				n->slen = ev.data.scalar.length;
				if (!(n->s = malloc(n->slen + 1))) {
					free(n);
					rc = sw_error_set(err, SW_ENOMEM, "out of memory");
					break;
				}
				memcpy(n->s, ev.data.scalar.value, n->slen);
				n->s[n->slen] = '\0';
				rc = attach(st, depth, n, &root, name, err);
				break;
			}
			n->type = ev.type == YAML_SEQUENCE_START_EVENT ? SW_YAML_SEQ : SW_YAML_MAP;
			if (depth >= MAX_DEPTH) {
				free(n);
				rc = fail(err, name, ev.start_mark.line + 1, "nested deeper than 64 levels");
				break;
			}
			st[depth].node = n;
			st[depth].last = NULL;
			st[depth].pending_key = NULL;
			depth++;
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			n = st[--depth].node;
			free(st[depth].pending_key);
			st[depth].pending_key = NULL;
			rc = attach(st, depth, n, &root, name, err);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	/* open collections (only after an error): each is still its own tree,
	 * joined to its parent only when it ends */
	for (i = depth - 1; i >= 0; i--) {
		free(st[i].pending_key);
		node_free(st[i].node);
	}
	if (rc)
		node_free(root);
	yaml_parser_delete(&parser);
	if (rc) {
		sw_yaml_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

size_t sw_yaml_ndocs(const sw_yaml_doc *d)
{
	return d->ndocs;
}

const sw_yaml *sw_yaml_root(const sw_yaml_doc *d, size_t i)
{
	return i < d->ndocs ? d->docs[i] : NULL;
}

const sw_yaml *sw_yaml_get(const sw_yaml *map, const char *key)
{
	const sw_yaml *c;

	if (!map || map->type != SW_YAML_MAP)
		return NULL;
	for (c = map->child; c; c = c->next)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

const char *sw_yaml_str(const sw_yaml *n)
{
	return n && n->type == SW_YAML_SCALAR ? n->s : NULL;
}
