/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AdmissionReview v1, as the Kubernetes API server sends it to a
 * validating webhook (admission.k8s.io/v1: request.uid, kind, resource,
 * subResource, requestKind, name, namespace, operation, userInfo, object,
 * oldObject, dryRun, options). What is judged:
 *
 *  - Pod (core/v1), and the kinds that carry a pod template: Deployment,
 *    StatefulSet, DaemonSet, ReplicaSet (apps), ReplicationController and
 *    PodTemplate (core), Job and CronJob (batch); a Pod's
 *    ephemeralcontainers subresource (kubectl debug) is a Pod too;
 *  - CREATE and UPDATE; an UPDATE judges only the images the old object
 *    did not have (scaling a Deployment decides nothing);
 *  - the images of containers, initContainers and ephemeralContainers,
 *    each distinct image once, with the first place it appears.
 *
 * Anything else (another kind or group, another subresource such as
 * pods/status or pods/exec, DELETE and CONNECT) is allowed with no work.
 * The body went through the one JSON reader (bounded depth and size, no
 * duplicate keys), so a deep or malformed document is refused before any
 * of this.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "review.h"

typedef struct kind_spec {
	const char *group, *kind;
	const char *path[4];   /* object members down to the pod spec */
} kind_spec;

static const kind_spec kinds[] = {
	{ "", "Pod", { "spec" } },
	{ "", "ReplicationController", { "spec", "template", "spec" } },
	{ "", "PodTemplate", { "template", "spec" } },
	{ "apps", "Deployment", { "spec", "template", "spec" } },
	{ "apps", "StatefulSet", { "spec", "template", "spec" } },
	{ "apps", "DaemonSet", { "spec", "template", "spec" } },
	{ "apps", "ReplicaSet", { "spec", "template", "spec" } },
	{ "batch", "Job", { "spec", "template", "spec" } },
	{ "batch", "CronJob", { "spec", "jobTemplate", "spec", "template" } }, /* then .spec */
};

static const char *const lists[] = { "initContainers", "containers", "ephemeralContainers" };

static char *field(const sw_json *obj, const char *key)
{
	const char *s = obj ? sw_json_get_str(obj, key) : NULL;

	return sw__strndup(s ? s : "", s ? strnlen(s, SW_REVIEW_MAX_FIELD) : 0);
}

/* The pod spec of an object of this kind (NULL when it has none). */
static const sw_json *pod_spec(const sw_json *obj, const kind_spec *k, char *where, size_t n)
{
	size_t i;
	int len = 0;

	where[0] = 0;
	for (i = 0; obj && i < 4 && k->path[i]; i++) {
		obj = sw_json_get_obj(obj, k->path[i]);
		len += snprintf(where + len, n - (size_t)len, "%s%s", i ? "." : "", k->path[i]);
	}
	if (obj && strcmp(k->kind, "CronJob") == 0) {
		obj = sw_json_get_obj(obj, "spec");
		snprintf(where + len, n - (size_t)len, ".spec");
	}
	return obj;
}

static bool has_image(const sw_review_image *v, size_t n, const char *image)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].image, image) == 0)
			return true;
	return false;
}

/* Every image of a pod spec, in order, into a list (distinct). */
static int collect(const sw_json *spec, const char *base, sw_review_image **v, size_t *n, bool *too_many)
{
	size_t l, i;

	for (l = 0; spec && l < sizeof(lists) / sizeof(lists[0]); l++) {
		const sw_json *arr = sw_json_get_arr(spec, lists[l]), *c;
		for (c = arr ? arr->child : NULL, i = 0; c; c = c->next, i++) {
			const char *img = c->type == SW_JSON_OBJ ? sw_json_get_str(c, "image") : NULL;
			if (!img || has_image(*v, *n, img))
				continue;
			if (*n >= SW_REVIEW_MAX_IMAGES) {
				*too_many = true;
				return 0;
			}
			if (SW_GROW(*v, *n) < 0)
				return SW_ENOMEM;
			(*v)[*n].image = sw__strdup(img);
			(*v)[*n].where = sw__asprintf("%s.%s[%zu]", base, lists[l], i);
			if (!(*v)[*n].image || !(*v)[*n].where) {
				free((*v)[*n].image);
				free((*v)[*n].where);
				return SW_ENOMEM;
			}
			(*n)++;
		}
	}
	return 0;
}

static void free_images(sw_review_image *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].image);
		free(v[i].where);
	}
	free(v);
}

/* The kind we judge, or NULL. */
static const kind_spec *judged_kind(const sw_review *rv)
{
	size_t i;

	if (strcmp(rv->operation, "CREATE") && strcmp(rv->operation, "UPDATE"))
		return NULL;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(rv->group, kinds[i].group) == 0 && strcmp(rv->kind, kinds[i].kind) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return NULL;
	if (rv->sub_resource[0] && !(i == 0 && strcmp(rv->sub_resource, "ephemeralcontainers") == 0))
		return NULL;
	return &kinds[i];
}

static int read_images(const sw_json *req, const kind_spec *k, sw_review *rv)
{
	sw_review_image *old = NULL, *now = NULL;
	size_t nold = 0, nnow = 0, i;
	bool more = false;
	char where[64];
	const sw_json *spec;
	int rc;

	spec = pod_spec(sw_json_get_obj(req, "object"), k, where, sizeof(where));
	if ((rc = collect(spec, where, &now, &nnow, &rv->too_many)) < 0)
		goto out;
	if (strcmp(rv->operation, "UPDATE") == 0) {
		spec = pod_spec(sw_json_get_obj(req, "oldObject"), k, where, sizeof(where));
		if ((rc = collect(spec, where, &old, &nold, &more)) < 0)
			goto out;
	}
	for (i = 0; i < nnow; i++) {
		if (has_image(old, nold, now[i].image)) {
			rv->unchanged++;
			continue;
		}
		if ((rc = SW_GROW(rv->images, rv->nimages)) < 0)
			goto out;
		rv->images[rv->nimages++] = now[i];
		now[i].image = now[i].where = NULL;
	}
out:
	free_images(old, nold);
	free_images(now, nnow);
	return rc;
}

int sw_review_read(const char *body, size_t len, sw_review *rv, sw_error *err)
{
	sw_json_doc *doc = NULL;
	const sw_json *root, *req, *gvk;
	const char *av, *kd;
	const kind_spec *k;
	int rc;

	memset(rv, 0, sizeof(*rv));
	if ((rc = sw_json_parse(body, len, &doc, err)) < 0)
		goto fail;
	root = sw_json_root(doc);
	av = sw_json_get_str(root, "apiVersion");
	kd = sw_json_get_str(root, "kind");
	if (!av || !kd || strcmp(av, "admission.k8s.io/v1") || strcmp(kd, "AdmissionReview")) {
		rc = sw_error_set(err, SW_EFORMAT, "not an AdmissionReview of apiVersion admission.k8s.io/v1 "
				  "(set admissionReviewVersions: [v1] in the webhook configuration)");
		goto fail;
	}
	if (!(req = sw_json_get_obj(root, "request")) || !sw_json_get_str(req, "uid") ||
	    !sw_json_get_str(req, "operation")) {
		rc = sw_error_set(err, SW_EFORMAT, "an AdmissionReview without request.uid and request.operation");
		goto fail;
	}
	gvk = sw_json_get_obj(req, "kind");
	rv->uid = field(req, "uid");
	rv->kind = field(gvk, "kind");
	rv->group = field(gvk, "group");
	rv->ns = field(req, "namespace");
	rv->name = field(req, "name");
	rv->operation = field(req, "operation");
	rv->sub_resource = field(req, "subResource");
	if (!rv->uid || !rv->kind || !rv->group || !rv->ns || !rv->name || !rv->operation || !rv->sub_resource) {
		rc = sw_error_set(err, SW_ENOMEM, "out of memory");
		goto fail;
	}
	rv->dry_run = sw_json_get(req, "dryRun") && sw_json_get(req, "dryRun")->type == SW_JSON_BOOL &&
		      sw_json_get(req, "dryRun")->b;
	if ((k = judged_kind(rv))) {
		rv->judged = true;
		if ((rc = read_images(req, k, rv)) < 0) {
			sw_error_set(err, rc, "out of memory");
			goto fail;
		}
	}
	sw_json_free(doc);
	return 0;
fail:
	sw_json_free(doc);
	sw_review_release(rv);
	return rc;
}

void sw_review_release(sw_review *rv)
{
	free(rv->uid);
	free(rv->kind);
	free(rv->group);
	free(rv->ns);
	free(rv->name);
	free(rv->operation);
	free(rv->sub_resource);
	free_images(rv->images, rv->nimages);
	memset(rv, 0, sizeof(*rv));
}

int sw_review_write(sw_buf *b, const char *uid, const sw_review_answer *a)
{
	sw_jw w = SW_JW_INIT(b);
	size_t i;

	sw_jw_obj(&w);
	sw_jw_kstr(&w, "apiVersion", "admission.k8s.io/v1");
	sw_jw_kstr(&w, "kind", "AdmissionReview");
	sw_jw_kobj(&w, "response");
	sw_jw_kstr(&w, "uid", uid);
	sw_jw_kbool(&w, "allowed", a->allowed);
	if (!a->allowed) {
		sw_jw_kobj(&w, "status");
		sw_jw_kint(&w, "code", 403);
		sw_jw_kstr(&w, "reason", "Forbidden");
		sw_jw_kstr(&w, "message", a->message ? a->message : "denied by stowaway");
		sw_jw_end(&w);
	}
	if (a->nwarnings) {
		sw_jw_karr(&w, "warnings");
		for (i = 0; i < a->nwarnings; i++)
			sw_jw_str(&w, a->warnings[i]);
		sw_jw_end(&w);
	}
	if (a->decision || a->images) {
		sw_jw_kobj(&w, "auditAnnotations");
		if (a->decision)
			sw_jw_kstr(&w, "stowaway.dev/decision", a->decision);
		if (a->images)
			sw_jw_kstr(&w, "stowaway.dev/images", a->images);
		sw_jw_end(&w);
	}
	sw_jw_end(&w);
	sw_jw_end(&w);
	return sw_jw_done(&w) ? sw_jw_done(&w) : sw_buf_err(b);
}
