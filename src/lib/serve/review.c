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
 *    each distinct image once, with the first place it appears and a
 *    JSON pointer to every place (the mutating webhook patches them all).
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

/* The pod spec of an object of this kind (NULL when it has none), its
 * place for people ("spec.template.spec") and as a JSON pointer
 * ("/spec/template/spec"; the members are plain words: nothing to escape). */
static const sw_json *pod_spec(const sw_json *obj, const kind_spec *k, char *where, char *ptr, size_t n)
{
	size_t i;
	int len = 0, plen = 0;

	where[0] = ptr[0] = 0;
	for (i = 0; obj && i < 4 && k->path[i]; i++) {
		obj = sw_json_get_obj(obj, k->path[i]);
		len += snprintf(where + len, n - (size_t)len, "%s%s", i ? "." : "", k->path[i]);
		plen += snprintf(ptr + plen, n - (size_t)plen, "/%s", k->path[i]);
	}
	if (obj && strcmp(k->kind, "CronJob") == 0) {
		obj = sw_json_get_obj(obj, "spec");
		snprintf(where + len, n - (size_t)len, ".spec");
		snprintf(ptr + plen, n - (size_t)plen, "/spec");
	}
	return obj;
}

static sw_review_image *find_image(sw_review_image *v, size_t n, const char *image)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].image, image) == 0)
			return &v[i];
	return NULL;
}

static int add_place(sw_review_image *im, const char *ptr, const char *list, size_t i)
{
	char *p;

	if (SW_GROW(im->ptrs, im->nptrs) < 0 || !(p = sw__asprintf("%s/%s/%zu/image", ptr, list, i)))
		return SW_ENOMEM;
	im->ptrs[im->nptrs++] = p;
	return 0;
}

/* Every image of a pod spec, in order, into a list (distinct), with its
 * places. Past SW_REVIEW_MAX_IMAGES distinct images or
 * SW_REVIEW_MAX_PLACES places, *too_many (the object is denied whole). */
static int collect(const sw_json *spec, const char *base, const char *ptr, sw_review_image **v, size_t *n,
		   bool *too_many)
{
	size_t l, i, places = 0;

	for (l = 0; spec && l < sizeof(lists) / sizeof(lists[0]); l++) {
		const sw_json *arr = sw_json_get_arr(spec, lists[l]), *c;
		for (c = arr ? arr->child : NULL, i = 0; c; c = c->next, i++) {
			const char *img = c->type == SW_JSON_OBJ ? sw_json_get_str(c, "image") : NULL;
			sw_review_image *im;
			if (!img)
				continue;
			if (++places > SW_REVIEW_MAX_PLACES) {
				*too_many = true;
				return 0;
			}
			if (!(im = find_image(*v, *n, img))) {
				if (*n >= SW_REVIEW_MAX_IMAGES) {
					*too_many = true;
					return 0;
				}
				if (SW_GROW(*v, *n) < 0)
					return SW_ENOMEM;
				im = &(*v)[(*n)++];
				memset(im, 0, sizeof(*im));
				im->image = sw__strdup(img);
				im->where = sw__asprintf("%s.%s[%zu]", base, lists[l], i);
				if (!im->image || !im->where)
					return SW_ENOMEM;
			}
			if (add_place(im, ptr, lists[l], i) < 0)
				return SW_ENOMEM;
		}
	}
	return 0;
}

static void free_image(sw_review_image *im)
{
	size_t i;

	free(im->image);
	free(im->where);
	for (i = 0; i < im->nptrs; i++)
		free(im->ptrs[i]);
	free(im->ptrs);
	memset(im, 0, sizeof(*im));
}

static void free_images(sw_review_image *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free_image(&v[i]);
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
	char where[64], ptr[64];
	const sw_json *spec;
	int rc;

	spec = pod_spec(sw_json_get_obj(req, "object"), k, where, ptr, sizeof(where));
	if ((rc = collect(spec, where, ptr, &now, &nnow, &rv->too_many)) < 0)
		goto out;
	if (strcmp(rv->operation, "UPDATE") == 0) {
		spec = pod_spec(sw_json_get_obj(req, "oldObject"), k, where, ptr, sizeof(where));
		if ((rc = collect(spec, where, ptr, &old, &nold, &more)) < 0)
			goto out;
	}
	for (i = 0; i < nnow; i++) {
		if (find_image(old, nold, now[i].image)) {
			rv->unchanged++;
			continue;
		}
		if ((rc = SW_GROW(rv->images, rv->nimages)) < 0)
			goto out;
		rv->images[rv->nimages++] = now[i];
		memset(&now[i], 0, sizeof(now[i]));
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

/* "patchType": "JSONPatch", "patch": base64 of [{"op": "replace",
 * "path": P, "value": V}, ...]. A replace (not an add) fails, and so the
 * whole request fails, if the member is not there: nothing is pinned by
 * a patch that missed. */
static int write_patch(sw_jw *w, const sw_review_answer *a)
{
	sw_buf p = SW_BUF_INIT(SW_REVIEW_PATCH_MAX), b64 = SW_BUF_INIT(SW_REVIEW_PATCH_MAX * 2);
	sw_jw pw = SW_JW_INIT(&p);
	size_t i;
	int rc;

	sw_jw_arr(&pw);
	for (i = 0; i < a->npatch; i++) {
		sw_jw_obj(&pw);
		sw_jw_kstr(&pw, "op", "replace");
		sw_jw_kstr(&pw, "path", a->patch_ptrs[i]);
		sw_jw_kstr(&pw, "value", a->patch_values[i]);
		sw_jw_end(&pw);
	}
	sw_jw_end(&pw);
	if ((rc = sw_jw_done(&pw)) == 0 && (rc = sw_b64_encode(&b64, p.data, p.len)) == 0 &&
	    (rc = sw_buf_putc(&b64, 0)) == 0) {
		sw_jw_kstr(w, "patchType", "JSONPatch");
		sw_jw_kstr(w, "patch", b64.data);
	}
	sw_buf_release(&p);
	sw_buf_release(&b64);
	return rc;
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
	if (a->npatch && write_patch(&w, a) < 0)
		return SW_ENOMEM;
	sw_jw_end(&w);
	sw_jw_end(&w);
	return sw_jw_done(&w) ? sw_jw_done(&w) : sw_buf_err(b);
}
