/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Following the entrypoint chain. A poisoned image rarely starts its miner
 * directly: `python3 /opt/app/dao.py` starts `/usr/share/.java/jupdate`;
 * `/docker-entrypoint.sh` execs a script that execs the payload. Findings on
 * those files matter more than findings anywhere else: they run at every
 * start. So we resolve what Entrypoint and Cmd name (interpreters, `sh -c`,
 * WorkingDir, PATH, symlinks inside the merged view), read the scripts the
 * engine kept (small executable scripts and the start candidates), collect
 * the absolute paths they name, and walk on, to a bounded depth.
 *
 * Then findings are linked both ways: the file that runs gets
 * "runs_at_start" and "started_by"; the launcher gets an SW-LAUNCHER
 * finding naming what it starts. A launcher alone is not malware, a flagged
 * file alone may be dead weight: together they are the attack.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "../image/runconf.h"
#include "../util/banned.h"

#define MAX_NODES 64
#define MAX_DEPTH 4
#define MAX_TOKENS 256
#define MAX_LINKS 8

typedef struct cnode {
	char *path;              /* resolved (final, after symlinks) */
	size_t layer, rec;
	int parent;              /* index of the launcher, -1 for the config */
	int depth;
	bool present;            /* false: a flagged file a later layer removed, which a
				  * script still names (shown in the report's chain,
				  * never followed or linked: it cannot run) */
} cnode;

static bool is_shell(const char *b)
{
	return !strcmp(b, "sh") || !strcmp(b, "bash") || !strcmp(b, "dash") || !strcmp(b, "ash") ||
	       !strcmp(b, "zsh") || !strcmp(b, "busybox");
}

static bool is_interp(const char *b)
{
	return is_shell(b) || !strncmp(b, "python", 6) || !strncmp(b, "perl", 4) ||
	       !strcmp(b, "node") || !strcmp(b, "nodejs") || !strncmp(b, "ruby", 4) ||
	       !strncmp(b, "php", 3) || !strcmp(b, "java");
}

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Candidate absolute paths for a command word: absolute as is, relative
 * with a slash against WorkingDir, bare names along PATH. A script given
 * to an interpreter (pathvar NULL) is always relative to WorkingDir. */
static int candidates(const char *word, const char *workdir, const char *pathvar,
		      char ***v, size_t *n)
{
	char *one = NULL, **nv;
	const char *p, *e;
	bool script = pathvar == NULL;

	if (!word || !*word || strlen(word) > 4096)
		return 0;
	if (word[0] == '/')
		one = sw__strdup(word);
	else if (strchr(word, '/') || script)
		one = sw__asprintf("%s/%s", workdir && *workdir ? workdir : "/", word);
	if (one || word[0] == '/' || strchr(word, '/') || script) {
		if (!one || SW_GROW(*v, *n + 1) < 0) {
			free(one);
			return SW_ENOMEM;
		}
		nv = *v;
		nv[(*n)++] = one;
		nv[*n] = NULL;
		return 0;
	}
	for (p = pathvar; *p; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		if (e > p && *p == '/') {
			char *c = sw__asprintf("%.*s/%s", (int)(e - p), p, word);
			if (!c || SW_GROW(*v, *n + 1) < 0) {
				free(c);
				return SW_ENOMEM;
			}
			nv = *v;
			nv[(*n)++] = c;
			nv[*n] = NULL;
		}
	}
	return 0;
}

/* Words of a shell command line that name programs: the first word of each
 * simple command, and the script an interpreter is given. */
static int shell_words(const char *cmd, const char *workdir, const char *pathvar, char ***v,
		       size_t *n)
{
	char *copy = sw__strdup(cmd), *p, *tok[64];
	size_t nt = 0, i;
	bool first = true;
	int rc = 0;

	if (!copy)
		return SW_ENOMEM;
	for (p = copy; *p && nt < 64;) {
		while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'')
			p++;
		if (!*p)
			break;
		if (*p == ';' || *p == '&' || *p == '|' || *p == '(' || *p == ')' || *p == '\n') {
			tok[nt++] = NULL; /* separator */
			while (*p == ';' || *p == '&' || *p == '|' || *p == '(' || *p == ')' || *p == '\n')
				p++;
			continue;
		}
		tok[nt++] = p;
		while (*p && !strchr(" \t;&|()\n\"'", *p))
			p++;
		if (*p)
			*p++ = '\0';
	}
	for (i = 0; i < nt && rc == 0; i++) {
		const char *w = tok[i];
		if (!w) {
			first = true;
			continue;
		}
		if (!first)
			continue;
		if (strchr(w, '=') && w[0] != '/' && w[0] != '.')
			continue; /* VAR=value before the command */
		if (!strcmp(w, "exec") || !strcmp(w, "nohup") || !strcmp(w, "sudo") ||
		    !strcmp(w, "env") || !strcmp(w, "setsid") || !strcmp(w, "nice"))
			continue;
		first = false;
		rc = candidates(w, workdir, pathvar, v, n);
		if (rc == 0 && is_interp(base_of(w))) {
			size_t k;
			for (k = i + 1; k < nt && tok[k]; k++)
				if (tok[k][0] != '-') {
					rc = candidates(tok[k], workdir, NULL, v, n);
					break;
				}
		}
	}
	free(copy);
	return rc;
}

static int argv_paths(const sw_runconf *rcf, char ***v, size_t *n)
{
	char *const *argv = rcf->argv;
	size_t argc = rcf->argc < 64 ? rcf->argc : 64, i;
	int rc;

	if (!argc)
		return 0;
	if (is_shell(base_of(argv[0]))) {
		for (i = 1; i + 1 < argc; i++)
			if (!strcmp(argv[i], "-c"))
				return shell_words(argv[i + 1], rcf->workdir, rcf->path, v, n);
	}
	if ((rc = candidates(argv[0], rcf->workdir, rcf->path, v, n)) < 0)
		return rc;
	if (is_interp(base_of(argv[0])))
		for (i = 1; i < argc; i++)
			if (argv[i][0] != '-')
				return candidates(argv[i], rcf->workdir, NULL, v, n);
	return 0;
}

int sw_chain_start_paths(const char *config, size_t len, char ***out)
{
	sw_runconf rcf;
	size_t n = 0;
	int rc = 0;

	*out = NULL; /* grown by SW_GROW only, NULL-terminated: never NULL on success */
	if (SW_GROW(*out, 0) < 0)
		return SW_ENOMEM;
	(*out)[0] = NULL;
	if ((rc = sw_runconf_parse(config, len, &rcf)) == 0)
		rc = argv_paths(&rcf, out, &n);
	sw_runconf_release(&rcf);
	if (rc == SW_EFORMAT)
		return 0; /* sources verified the config parses */
	if (rc < 0) {
		sw_chain_free_paths(*out);
		*out = NULL;
	}
	return rc;
}

void sw_chain_free_paths(char **paths)
{
	char **p;

	for (p = paths; p && *p; p++)
		free(*p);
	free(paths);
}

/* Resolve a path in the final filesystem, following symlinks inside it. */
static bool resolve(const sw_chain_env *env, const char *path, char *out, size_t outsz,
		    size_t *layer, size_t *rec)
{
	char cur[4096], tmp[8192];
	int hops;

	if (sw_path_clean(path, strlen(path), cur, sizeof(cur)) < 0)
		return false;
	for (hops = 0; hops <= MAX_LINKS; hops++) {
		const char *l;
		if (!sw_merge_lookup(env->m, cur, layer, rec) || !sw_merge_live(env->m, *layer, *rec))
			return false;
		if (env->type(env->ctx, *layer, *rec) != '2') {
			snprintf(out, outsz, "%s", cur);
			return env->type(env->ctx, *layer, *rec) == '0';
		}
		l = env->link(env->ctx, *layer, *rec);
		if (!l || !*l)
			return false;
		if (l[0] == '/') {
			snprintf(tmp, sizeof(tmp), "%s", l);
		} else {
			const char *slash = strrchr(cur, '/');
			snprintf(tmp, sizeof(tmp), "%.*s/%s", (int)(slash - cur), cur, l);
		}
		/* inside the root: ".." above "/" stays at "/" as a runtime would */
		while (strncmp(tmp, "/..", 3) == 0 && (tmp[3] == '/' || !tmp[3]))
			memmove(tmp, tmp + 3, strlen(tmp + 3) + 1);
		if (sw_path_clean(tmp, strlen(tmp), cur, sizeof(cur)) < 0)
			return false;
	}
	return false;
}

/* A flagged file at path that a later layer removed (the report's findings
 * say so): its layer in *layer. */
static bool removed_flagged(const sw_report *r, const char *path, size_t *layer)
{
	char clean[4096];
	size_t i;

	if (sw_path_clean(path, strlen(path), clean, sizeof(clean)) < 0)
		return false;
	for (i = 0; i < r->nf; i++)
		if (r->f[i].path && r->f[i].layer >= 0 && !r->f[i].in_final_fs && strcmp(r->f[i].path, clean) == 0) {
			*layer = (size_t)r->f[i].layer;
			return true;
		}
	return false;
}

static int add_node(const sw_chain_env *env, const sw_report *r, cnode *nodes, int *nn, const char *path,
		    int parent, int depth)
{
	char real[4096];
	size_t layer, rec = SIZE_MAX;
	bool present = true;
	int i;

	if (*nn >= MAX_NODES || depth > MAX_DEPTH)
		return 0;
	if (!resolve(env, path, real, sizeof(real), &layer, &rec)) {
		/* a script that names a payload hidden under a whiteout: not
		 * something that runs, but the reader should see the link */
		if (parent < 0 || !removed_flagged(r, path, &layer) ||
		    sw_path_clean(path, strlen(path), real, sizeof(real)) < 0)
			return 0;
		present = false;
	}
	for (i = 0; i < *nn; i++)
		if (present ? nodes[i].present && nodes[i].layer == layer && nodes[i].rec == rec
			    : !nodes[i].present && strcmp(nodes[i].path, real) == 0)
			return 0;
	if (!(nodes[*nn].path = sw__strdup(real)))
		return SW_ENOMEM;
	nodes[*nn].layer = layer;
	nodes[*nn].rec = rec;
	nodes[*nn].parent = parent;
	nodes[*nn].depth = depth;
	nodes[*nn].present = present;
	(*nn)++;
	return 0;
}

/* Absolute paths a script names: "/x/y" tokens after a separator. */
static int script_paths(const sw_chain_env *env, const sw_report *r, cnode *nodes, int *nn, int self)
{
	size_t len, i = 0, found = 0;
	const uint8_t *p;
	int rc;

	if (!nodes[self].present)
		return 0;
	p = env->content(env->ctx, nodes[self].layer, nodes[self].rec, &len);
	if (!p || len < 2)
		return 0;
	while (i < len && found < MAX_TOKENS) {
		size_t j;
		char tok[4096];
		if (p[i] != '/' || (i > 0 && !strchr(" \t\n\"'=(:;`,[", p[i - 1]))) {
			i++;
			continue;
		}
		for (j = i; j < len && j - i < sizeof(tok) - 1 &&
		     (isalnum(p[j]) || strchr("/._+-", p[j])); j++)
			;
		memcpy(tok, p + i, j - i);
		tok[j - i] = '\0';
		i = j;
		if (strlen(tok) < 2)
			continue;
		found++;
		if ((rc = add_node(env, r, nodes, nn, tok, self, nodes[self].depth + 1)) < 0)
			return rc;
	}
	return 0;
}

static bool counts(const sw_finding *f)
{
	return f->path && f->severity >= SW_SEV_MEDIUM && strcmp(f->category, "incomplete") != 0 &&
	       strcmp(f->id, "SW-LAUNCHER") != 0 && strcmp(f->id, "SW-HIDDEN-PAYLOAD") != 0;
}

/* Packer and loader traits are medium on a file that merely sits in the
 * image (a vendor may ship a packed tool); the same file started at every
 * container start is the attack's shape: raised to high. */
static int raise_at_start(sw_finding *x)
{
	static const char *const ids[] = { "SW-HEUR-PACKED", "SW-HEUR-LOADER", "SW-HEUR-EMBEDDED-EXEC" };
	size_t k;

	if (x->severity != SW_SEV_MEDIUM)
		return 0;
	for (k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
		if (!strcmp(x->id, ids[k])) {
			x->severity = SW_SEV_HIGH;
			return sw_report__evidence_add(x, "raised", "\"medium to high: runs at container start\"");
		}
	return 0;
}

static int link_node(sw_report *r, const cnode *nodes, int i)
{
	const cnode *c = &nodes[i], *par = c->parent >= 0 ? &nodes[c->parent] : NULL;
	sw_buf ids = SW_BUF_INIT(65536), ev = SW_BUF_INIT(131072), starter = SW_BUF_INIT(8192);
	sw_severity sev = SW_SEV_INFO;
	const char *cat = NULL;
	size_t k, nf = r->nf;
	sw_finding f = { 0 };
	sw_jw idw = SW_JW_INIT(&ids), w = SW_JW_INIT(&ev);
	char title[160];
	int rc = 0;

	sw_jsonw_str(&starter, par ? par->path : "Entrypoint/Cmd");
	sw_jw_arr(&idw);
	for (k = 0; k < nf && rc == 0; k++) {
		sw_finding *x = &r->f[k];
		if (!x->path || strcmp(x->path, c->path) != 0 || x->layer != (int)c->layer)
			continue;
		if ((rc = sw_report__evidence_add(x, "runs_at_start", "true")) == 0)
			rc = sw_report__evidence_add(x, "started_by", sw_buf_cstr(&starter));
		if (rc == 0)
			rc = raise_at_start(x);
		if (counts(x)) {
			if (x->severity > sev || !cat) {
				sev = x->severity > sev ? x->severity : sev;
				cat = x->category;
			}
			sw_jw_str(&idw, x->id);
		}
	}
	if (rc < 0 || !cat)
		goto out;
	/* The launcher's own finding, pointing at what it starts. */
	sw_jw_end(&idw);
	if ((rc = sw_jw_done(&idw)) < 0)
		goto out;
	sw_jw_obj(&w);
	sw_jw_kstr(&w, "starts", c->path);
	sw_jw_kuint(&w, "target_layer", c->layer);
	sw_jw_kraw(&w, "target_findings", sw_buf_cstr(&ids));
	sw_jw_kint(&w, "depth", c->depth);
	sw_jw_end(&w);
	if ((rc = sw_jw_done(&w)) < 0)
		goto out;
	snprintf(title, sizeof(title), "%s starts a flagged file at container start",
		 par ? "Start-up script" : "The image's entrypoint");
	f.id = "SW-LAUNCHER";
	f.severity = sev;
	f.category = cat;
	f.title = title;
	f.detector = "chain";
	f.path = par ? par->path : NULL;
	f.layer = par ? (int)par->layer : -1;
	f.layer_digest = par && par->layer < r->nlayers ? r->layers[par->layer].digest : NULL;
	f.created_by = par && par->layer < r->nlayers ? r->layers[par->layer].created_by : NULL;
	f.in_final_fs = par != NULL;
	f.evidence = sw_buf_cstr(&ev);
	if ((rc = sw_jw_done(&w)) == 0) /* never half an object as evidence */
		rc = sw_report__add(r, &f);
out:
	sw_buf_release(&ids);
	sw_buf_release(&ev);
	sw_buf_release(&starter);
	return rc;
}

/* What the image runs (Entrypoint then Cmd, and User), for the report. */
static int record_command(const sw_chain_env *env, sw_report *r)
{
	sw_runconf rcf;
	int rc;

	if ((rc = sw_runconf_parse(env->config, env->config_len, &rcf)) == 0)
		rc = sw_report__set_command(r, rcf.argv, rcf.argc, rcf.user);
	sw_runconf_release(&rcf);
	return rc == SW_EFORMAT ? 0 : rc; /* sources verified the config parses */
}

int sw_chain_link(const sw_chain_env *env, sw_report *r)
{
	char **start = NULL, **p;
	cnode nodes[MAX_NODES];
	int nn = 0, i, rc;

	if ((rc = record_command(env, r)) < 0 ||
	    (rc = sw_chain_start_paths(env->config, env->config_len, &start)) < 0)
		return rc;
	for (p = start; *p && rc == 0; p++)
		rc = add_node(env, r, nodes, &nn, *p, -1, 0);
	/* breadth first: scripts append what they start */
	for (i = 0; i < nn && rc == 0; i++)
		rc = script_paths(env, r, nodes, &nn, i);
	for (i = 0; i < nn && rc == 0; i++)
		if (nodes[i].present)
			rc = link_node(r, nodes, i);
	for (i = 0; i < nn && rc == 0; i++)
		rc = sw_report__chain_add(r, nodes[i].path, (int)nodes[i].layer, nodes[i].parent, nodes[i].depth,
					  nodes[i].present);
	for (i = 0; i < nn; i++)
		free(nodes[i].path);
	sw_chain_free_paths(start);
	return rc;
}
