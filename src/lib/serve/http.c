/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server core: HTTPS over libh2o's own event loop (the evloop flavour)
 * and OpenSSL. h2o speaks HTTP/1.1 and HTTP/2 (chosen by ALPN, as the
 * Kubernetes API server does), buffers a request's body up to a bound
 * (413 past it), and cuts a request whose headers and body do not arrive
 * whole within req_timeout: the timer is set once per request, not reset
 * by each byte, so a client that sends a byte a second is closed. What h2o
 * leaves to its embedder is done here:
 *
 *  - connections are counted (socket on_close); at max_conns the listener
 *    stops reading and new connections wait in the kernel's backlog;
 *  - the certificate and key are looked at every reload_ms (inode, size,
 *    mtime, ctime: cert-manager swaps a symlink, an editor rewrites in
 *    place) and a new pair that loads and matches replaces the SSL_CTX for
 *    new connections (the old one lives on in the SSLs that hold it); a
 *    pair that does not load is logged and the old one kept;
 *  - SIGTERM and SIGINT arrive through a pipe (the handler only writes a
 *    byte); the listener closes, keep-alive ends, and the loop runs until
 *    every request in flight is answered, at most grace_ms;
 *  - requests in flight are counted by a guard in each request's memory
 *    pool, released by h2o when the request is done or its connection
 *    goes away: that release is also how a held request learns that its
 *    client left.
 *
 * Other threads reach the loop only through sw_http_post (h2o's
 * multithread queue, an eventfd underneath).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <h2o/http2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "http.h"
#include "../util/util.h"

_Static_assert(sizeof(((sw_http_msg *)0)->link_) == sizeof(h2o_linklist_t), "sw_http_msg holds an h2o_linklist_t");
_Static_assert(sizeof(((sw_http_timer *)0)->entry_) >= sizeof(h2o_timeout_entry_t),
	       "sw_http_timer holds an h2o_timeout_entry_t");

#define MAX_ROUTES 8
#define MAX_TIMEOUTS 8

typedef struct route {
	h2o_handler_t super;
	sw_http *h;
	sw_http_handler fn;
	void *ctx;
	bool prefix;                   /* every path under it, not only itself */
	char path[64];
} route;

typedef struct pair_stat {
	dev_t dev[2];
	ino_t ino[2];
	off_t size[2];
	struct timespec mtime[2], ctime[2];
} pair_stat;

#define OLD_CTX 8

struct sw_http {
	sw_http_opts o;
	h2o_globalconf_t conf;
	h2o_hostconf_t *host;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept;
	h2o_socket_t *listener, *sigsock;
	h2o_multithread_queue_t *queue;
	h2o_multithread_receiver_t receiver;
	h2o_timeout_t reload_timeout;
	h2o_timeout_entry_t reload_entry;
	h2o_timeout_t timeouts[MAX_TIMEOUTS];
	unsigned timeout_ms[MAX_TIMEOUTS];
	size_t ntimeouts;
	pair_stat loaded, failed;      /* the pair in use; the last pair that did not load */
	bool have_failed;
	/* contexts replaced by a reload: kept (the last OLD_CTX of them) rather
	 * than freed at once, so no accept or handshake h2o has under way can
	 * meet a freed one; a rotation every few weeks makes this a few KiB */
	SSL_CTX *old_ctx[OLD_CTX];
	size_t nold;
	char addr[80];
	unsigned nconns;
	size_t inflight;
	bool listening, stopping;
	int sigpipe[2];
	route *routes[MAX_ROUTES];
	size_t nroutes;
};

struct sw_http_req {
	h2o_req_t *req;
	sw_http *h;
	void (*gone)(void *arg);
	void *arg;
	bool answered;
	const char *reason;            /* the status line's text over HTTP/1.1, when set */
};

/* ---- logging ---- */

/* The lines of one turn of the loop, written together when it ends (one
 * write for many answers under load, at once when idle). Loop thread only. */
static sw_buf logbuf = SW_BUF_INIT(4u << 20);

static void log_flush(void)
{
	if (logbuf.len)
		(void)sw_write_all(2, logbuf.data, logbuf.len);
	sw_buf_reset(&logbuf);
}

void sw_http_logline(const char *line, size_t n)
{
	if (logbuf.len + n > (64u << 10))
		log_flush();
	if (sw_buf_append(&logbuf, line, n) < 0) { /* out of memory: unbuffered */
		sw_buf_reset(&logbuf);
		(void)sw_write_all(2, line, n);
	}
}

void sw_http_log(const char *event, const char *key, const char *value)
{
	sw_buf b = SW_BUF_INIT(8192);
	sw_jw w = SW_JW_INIT(&b);

	sw_jw_obj(&w);
	sw_jw_kint(&w, "time", (long long)time(NULL));
	sw_jw_kstr(&w, "event", event);
	if (key)
		sw_jw_kstr(&w, key, value);
	sw_jw_end(&w);
	log_flush(); /* in order, and at once: the server's own events are few */
	if (sw_jw_done(&w) == 0 && sw_buf_putc(&b, '\n') == 0)
		(void)sw_write_all(2, b.data, b.len);
	sw_buf_release(&b);
}

/* ---- TLS: the pair, loaded and re-loaded ---- */

static int stat_pair(const sw_http *h, pair_stat *s)
{
	const char *f[2] = { h->o.cert, h->o.key };
	struct stat st;
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 2; i++) {
		if (stat(f[i], &st) < 0)
			return -1;
		s->dev[i] = st.st_dev;
		s->ino[i] = st.st_ino;
		s->size[i] = st.st_size;
		s->mtime[i] = st.st_mtim;
		s->ctime[i] = st.st_ctim;
	}
	return 0;
}

static bool same_pair(const pair_stat *a, const pair_stat *b)
{
	int i;

	for (i = 0; i < 2; i++)
		if (a->dev[i] != b->dev[i] || a->ino[i] != b->ino[i] || a->size[i] != b->size[i] ||
		    a->mtime[i].tv_sec != b->mtime[i].tv_sec || a->mtime[i].tv_nsec != b->mtime[i].tv_nsec ||
		    a->ctime[i].tv_sec != b->ctime[i].tv_sec || a->ctime[i].tv_nsec != b->ctime[i].tv_nsec)
			return false;
	return true;
}

/* A server context for the pair: TLS 1.2 and up, h2 and http/1.1 by
 * ALPN (http/1.1 alone with http1_only). NULL (with the reason in err)
 * when it does not load or match. */
static SSL_CTX *load_pair(const sw_http *h, sw_error *err)
{
	static const h2o_iovec_t http1[] = { { H2O_STRLIT("http/1.1") }, { NULL, 0 } };
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());

	if (!c) {
		sw_error_set(err, SW_ENOMEM, "TLS: out of memory");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(c, h->o.cert) != 1) {
		sw_error_set(err, SW_EIO, "%s: not a PEM certificate chain that OpenSSL can read", h->o.cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(c, h->o.key, SSL_FILETYPE_PEM) != 1) {
		sw_error_set(err, SW_EIO, "%s: not a PEM private key that OpenSSL can read", h->o.key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(c) != 1) {
		sw_error_set(err, SW_EIO, "%s does not belong to the certificate in %s", h->o.key, h->o.cert);
		goto fail;
	}
	h2o_ssl_register_alpn_protocols(c, h->o.http1_only ? http1 : h2o_http2_alpn_protocols);
	ERR_clear_error();
	return c;
fail:
	ERR_clear_error();
	SSL_CTX_free(c);
	return NULL;
}

/* Every reload_ms: a pair that changed on disk is loaded; the new context
 * serves new connections, a pair that does not load leaves the old one. */
static void on_reload_tick(h2o_timeout_entry_t *entry)
{
	sw_http *h = H2O_STRUCT_FROM_MEMBER(sw_http, reload_entry, entry);
	sw_error err = SW_ERROR_INIT;
	pair_stat now;
	SSL_CTX *c;

	if (!h->stopping)
		h2o_timeout_link(h->ctx.loop, &h->reload_timeout, &h->reload_entry);
	if (stat_pair(h, &now) < 0 || same_pair(&now, &h->loaded) || (h->have_failed && same_pair(&now, &h->failed)))
		return; /* a file missing for a moment (a swap) is looked at again next time */
	if (!(c = load_pair(h, &err))) {
		h->failed = now;
		h->have_failed = true;
		sw_http_log("tls-reload-failed", "error", err.msg);
		sw_http_log("tls-reload-failed", "kept", "the certificate loaded before");
		return;
	}
	if (h->nold == OLD_CTX) {
		SSL_CTX_free(h->old_ctx[0]);
		memmove(h->old_ctx, h->old_ctx + 1, (OLD_CTX - 1) * sizeof(h->old_ctx[0]));
		h->nold--;
	}
	h->old_ctx[h->nold++] = h->accept.ssl_ctx;
	h->accept.ssl_ctx = c;
	h->loaded = now;
	h->have_failed = false;
	sw_http_log("tls-reloaded", "cert", h->o.cert);
}

/* ---- connections and requests ---- */

static void on_accept(h2o_socket_t *listener, const char *e);

static void on_sock_close(void *data)
{
	sw_http *h = data;

	if (h->nconns-- >= h->o.max_conns && h->listening)
		h2o_socket_read_start(h->listener, on_accept);
}

static void on_accept(h2o_socket_t *listener, const char *e)
{
	sw_http *h = listener->data;
	h2o_socket_t *sock;

	if (e)
		return;
	if (!(sock = h2o_evloop_socket_accept(listener)))
		return;
	sock->on_close.cb = on_sock_close;
	sock->on_close.data = h;
	if (++h->nconns >= h->o.max_conns)
		h2o_socket_read_stop(listener); /* the rest wait in the backlog */
	h2o_accept(&h->accept, sock);
}

/* The guard in a request's pool: h2o releases it when the request is done
 * with (answered and sent, or its connection closed). */
static void guard_dispose(void *p)
{
	sw_http_req *r = p;

	r->h->inflight--;
	if (!r->answered && r->gone) {
		r->answered = true;
		r->gone(r->arg);
	}
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	route *rt = (route *)self;
	sw_http_req *r;

	if (!rt->prefix && !h2o_memis(req->path_normalized.base, req->path_normalized.len, rt->path, strlen(rt->path)))
		return -1; /* h2o matches a prefix; a route is one path */
	r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), guard_dispose);
	memset(r, 0, sizeof(*r));
	r->req = req;
	r->h = rt->h;
	rt->h->inflight++;
	rt->fn(rt->ctx, r);
	return 0;
}

static int add_route(sw_http *h, const char *path, bool prefix, sw_http_handler fn, void *ctx)
{
	h2o_pathconf_t *pc;
	route *rt;

	if (h->nroutes >= MAX_ROUTES || strlen(path) >= sizeof(rt->path))
		return SW_ELIMIT;
	pc = h2o_config_register_path(h->host, path, 0);
	rt = (route *)h2o_create_handler(pc, sizeof(*rt));
	rt->super.on_req = on_req;
	rt->h = h;
	rt->fn = fn;
	rt->ctx = ctx;
	rt->prefix = prefix;
	snprintf(rt->path, sizeof(rt->path), "%s", path);
	h->routes[h->nroutes++] = rt;
	h2o_context_init_pathconf_context(&h->ctx, pc);
	return 0;
}

int sw_http_route(sw_http *h, const char *path, sw_http_handler fn, void *ctx)
{
	return add_route(h, path, false, fn, ctx);
}

int sw_http_route_prefix(sw_http *h, const char *prefix, sw_http_handler fn, void *ctx)
{
	return add_route(h, prefix, true, fn, ctx);
}

const char *sw_http_path(const sw_http_req *r, size_t *len)
{
	*len = r->req->path_normalized.len;
	return r->req->path_normalized.base;
}

const char *sw_http_query(const sw_http_req *r, size_t *len)
{
	const h2o_req_t *req = r->req;

	if (req->query_at == SIZE_MAX || req->query_at >= req->path.len) {
		*len = 0;
		return "";
	}
	*len = req->path.len - req->query_at - 1;
	return req->path.base + req->query_at + 1;
}

const char *sw_http_header(const sw_http_req *r, const char *name, char *buf, size_t n)
{
	ssize_t i = h2o_find_header_by_str(&r->req->headers, name, strlen(name), -1);
	const h2o_iovec_t *v;

	if (i < 0 || n == 0)
		return NULL;
	v = &r->req->headers.entries[i].value;
	snprintf(buf, n, "%.*s", (int)(v->len < n ? v->len : n - 1), v->base);
	return buf;
}

bool sw_http_is_head(const sw_http_req *r)
{
	return h2o_memis(r->req->method.base, r->req->method.len, H2O_STRLIT("HEAD"));
}

const char *sw_http_method(const sw_http_req *r, size_t *len)
{
	*len = r->req->method.len;
	return r->req->method.base;
}

const char *sw_http_ctype(const sw_http_req *r, char *buf, size_t n)
{
	ssize_t i = h2o_find_header(&r->req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
	size_t k = 0, len;
	const char *v;

	buf[0] = 0;
	if (i < 0 || n == 0)
		return buf;
	v = r->req->headers.entries[i].value.base;
	len = r->req->headers.entries[i].value.len;
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	for (; k < len && k + 1 < n && v[k] != ';' && v[k] != ' ' && v[k] != '\t'; k++)
		buf[k] = (char)(v[k] >= 'A' && v[k] <= 'Z' ? v[k] + 32 : v[k]);
	buf[k] = 0;
	return buf;
}

const char *sw_http_body(const sw_http_req *r, size_t *len)
{
	*len = r->req->entity.base ? r->req->entity.len : 0;
	return r->req->entity.base ? r->req->entity.base : "";
}

const char *sw_http_version(const sw_http_req *r)
{
	return r->req->version >= 0x200 ? "HTTP/2" : "HTTP/1.1";
}

static const char *reason_of(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static void add_headers(h2o_req_t *req, const char *ctype, const char *const *hdrs)
{
	size_t i;

	if (ctype)
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
	for (i = 0; hdrs && hdrs[i] && hdrs[i + 1]; i += 2) {
		/* lowercase: HTTP/2 refuses anything else, HTTP/1.1 does not mind */
		h2o_iovec_t name = h2o_strdup(&req->pool, hdrs[i], strlen(hdrs[i]));
		h2o_strtolower(name.base, name.len);
		h2o_add_header_by_str(&req->pool, &req->res.headers, name.base, name.len, 0, NULL, hdrs[i + 1],
				      strlen(hdrs[i + 1]));
	}
}

void sw_http_reply_h(sw_http_req *r, int status, const char *ctype, const char *const *hdrs, const char *body,
		     size_t len)
{
	static h2o_generator_t gen = { NULL, NULL };
	h2o_req_t *req = r->req;
	h2o_iovec_t b;

	if (r->answered)
		return;
	r->answered = true;
	req->res.status = status;
	req->res.reason = r->reason ? r->reason : reason_of(status);
	add_headers(req, ctype, hdrs);
	req->res.content_length = len;
	b = h2o_strdup(&req->pool, body, len);
	h2o_start_response(req, &gen);
	/* a HEAD's answer says the length and sends nothing */
	h2o_send(req, sw_http_is_head(r) ? NULL : &b, sw_http_is_head(r) ? 0 : 1, H2O_SEND_STATE_FINAL);
}

void sw_http_set_reason(sw_http_req *r, const char *text)
{
	size_t i, n = strlen(text) < 400 ? strlen(text) : 400;
	char *p = h2o_mem_alloc_pool(&r->req->pool, n + 1);

	/* a status line's text: visible ASCII and spaces, nothing else */
	for (i = 0; i < n; i++)
		p[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : ' ';
	p[n] = 0;
	r->reason = p;
}

void sw_http_reply(sw_http_req *r, int status, const char *ctype, const char *body, size_t len)
{
	sw_http_reply_h(r, status, ctype, NULL, body, len);
}

/* 200 to a HEAD: the headers, Content-Length the body's length, no body. */
static void head_reply(sw_http_req *r, const char *ctype, const char *const *hdrs, size_t len)
{
	static h2o_generator_t gen = { NULL, NULL };
	h2o_req_t *req = r->req;

	r->answered = true;
	req->res.status = 200;
	req->res.reason = "OK";
	add_headers(req, ctype, hdrs);
	req->res.content_length = len;
	h2o_start_response(req, &gen);
	h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
}

/* A file's bytes from the page cache without a copy: mapped a window at a
 * time and handed to h2o, which encrypts from the mapping (h2o_file_send
 * pread every byte into a buffer first: 19% of the gate's CPU serving 16
 * clients at once). A window is unmapped once h2o asks for more, so an
 * answer holds at most MAP_WINDOW of the file in the process's RSS however
 * large the file is. The files are the store's: written once, renamed into
 * place, never truncated (a truncated mapping would fault). */
#define MAP_WINDOW (4u << 20)
#define MAP_CHUNK (256u << 10)

typedef struct mapsend {
	h2o_generator_t super;
	int fd;
	uint64_t size, off;          /* the file's size; bytes handed to h2o */
	uint8_t *win;                /* the window mapped at win_off */
	uint64_t win_off;
	size_t win_len;
} mapsend;

static void map_unmap(mapsend *m)
{
	if (m->win)
		munmap(m->win, m->win_len);
	m->win = NULL;
}

static void map_dispose(void *p)
{
	mapsend *m = p;

	map_unmap(m);
	if (m->fd >= 0)
		close(m->fd);
}

static void map_proceed(h2o_generator_t *g, h2o_req_t *req)
{
	mapsend *m = (mapsend *)g;
	h2o_iovec_t b;
	size_t n;

	if (m->off >= m->win_off + m->win_len) {
		void *p;
		map_unmap(m);
		m->win_off = m->off;
		m->win_len = m->size - m->off < MAP_WINDOW ? (size_t)(m->size - m->off) : MAP_WINDOW;
		if ((p = mmap(NULL, m->win_len, PROT_READ, MAP_SHARED, m->fd, (off_t)m->win_off)) == MAP_FAILED) {
			h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
			return;
		}
		(void)madvise(p, m->win_len, MADV_WILLNEED); /* advice values, not flags: one call each */
		(void)madvise(p, m->win_len, MADV_SEQUENTIAL);
		m->win = p;
	}
	n = m->win_off + m->win_len - m->off < MAP_CHUNK ? (size_t)(m->win_off + m->win_len - m->off) : MAP_CHUNK;
	b = h2o_iovec_init(m->win + (m->off - m->win_off), n);
	m->off += n;
	h2o_send(req, &b, 1, m->off == m->size ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void map_stop(h2o_generator_t *g, h2o_req_t *req)
{
	(void)req;
	map_unmap((mapsend *)g);
}

int sw_http_reply_file(sw_http_req *r, const char *ctype, const char *const *hdrs, const char *path)
{
	h2o_req_t *req = r->req;
	struct stat st;
	mapsend *m;
	int fd;

	if (r->answered)
		return SW_EINVAL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return SW_ENOTFOUND;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return SW_ENOTFOUND;
	}
	if (sw_http_is_head(r)) {
		/* the headers alone, from the file's size */
		close(fd);
		head_reply(r, ctype, hdrs, (size_t)st.st_size);
		return 0;
	}
	m = h2o_mem_alloc_shared(&req->pool, sizeof(*m), map_dispose);
	memset(m, 0, sizeof(*m));
	m->super.proceed = map_proceed;
	m->super.stop = map_stop;
	m->fd = fd;
	m->size = (uint64_t)st.st_size;
	r->answered = true;
	req->res.status = 200;
	req->res.reason = "OK";
	add_headers(req, ctype, hdrs);
	req->res.content_length = (size_t)st.st_size;
	h2o_start_response(req, &m->super);
	if (m->size == 0)
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
	else
		map_proceed(&m->super, req);
	return 0;
}

void sw_http_hold(sw_http_req *r, void (*gone)(void *arg), void *arg)
{
	r->gone = gone;
	r->arg = arg;
}

/* ---- messages and timers ---- */

static void on_messages(h2o_multithread_receiver_t *rc, h2o_linklist_t *messages)
{
	(void)rc;
	while (!h2o_linklist_is_empty(messages)) {
		h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
		sw_http_msg *sm = (sw_http_msg *)m;
		h2o_linklist_unlink(&m->link);
		sm->fn(sm);
	}
}

void sw_http_post(sw_http *h, sw_http_msg *m)
{
	memset(m->link_, 0, sizeof(m->link_));
	h2o_multithread_send_message(&h->receiver, (h2o_multithread_message_t *)m);
}

static void on_timer(h2o_timeout_entry_t *e)
{
	sw_http_timer *t = (sw_http_timer *)e;

	t->fn(t);
}

int sw_http_timer_start(sw_http *h, sw_http_timer *t, unsigned ms)
{
	h2o_timeout_entry_t *e = (h2o_timeout_entry_t *)t->entry_;
	size_t i;

	for (i = 0; i < h->ntimeouts && h->timeout_ms[i] != ms; i++)
		;
	if (i == h->ntimeouts) {
		if (i == MAX_TIMEOUTS)
			return SW_ELIMIT;
		h2o_timeout_init(h->ctx.loop, &h->timeouts[i], ms);
		h->timeout_ms[h->ntimeouts++] = ms;
	}
	memset(e, 0, sizeof(*e));
	e->cb = on_timer;
	h2o_timeout_link(h->ctx.loop, &h->timeouts[i], e);
	return 0;
}

void sw_http_timer_stop(sw_http_timer *t)
{
	h2o_timeout_entry_t *e = (h2o_timeout_entry_t *)t->entry_;

	if (e->cb && h2o_timeout_is_linked(e))
		h2o_timeout_unlink(e);
}

/* ---- signals: a byte down a pipe ---- */

static int sig_fd = -1;

static void on_signal_handler(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig_fd >= 0 && write(sig_fd, &c, 1) < 0) {
		/* the pipe is full: a stop is already on its way */
	}
	errno = saved;
}

static void begin_stop(sw_http *h)
{
	if (h->stopping)
		return;
	h->stopping = true;
	sw_http_log("stopping", "pending", h->inflight ? "answering the requests in flight" : "nothing in flight");
	if (h->listening) {
		h->listening = false;
		h2o_socket_read_stop(h->listener);
		h2o_socket_close(h->listener);
		h->listener = NULL;
	}
	h2o_context_request_shutdown(&h->ctx);
}

static void on_signal(h2o_socket_t *sock, const char *e)
{
	sw_http *h = sock->data;

	(void)e;
	h2o_buffer_consume(&sock->input, sock->input->size);
	begin_stop(h);
}

/* ---- the server ---- */

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;
	size_t n;

	if (!colon)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end || colon[1] == 0 || port < 0 || port > 65535)
		return -1;
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		s++, n -= 2;
	if (n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = 0;
	memset(ss, 0, sizeof(*ss));
	if (n == 0 || inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return 0;
	}
	return -1;
}

static int open_listener(sw_http *h, sw_error *err)
{
	struct sockaddr_storage ss, got;
	socklen_t len, glen = sizeof(got);
	char ip[INET6_ADDRSTRLEN] = "";
	int fd = -1, one = 1;

	if (parse_listen(h->o.listen, &ss, &len) < 0)
		return sw_error_set(err, SW_EINVAL, "--listen %s: expected ADDR:PORT (an IP address)", h->o.listen);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, 1024) < 0 || getsockname(fd, (struct sockaddr *)&got, &glen) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return sw_error_set(err, SW_EIO, "listen on %s: %s", h->o.listen, strerror(e));
	}
	if (got.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&got)->sin6_addr, ip, sizeof(ip));
		snprintf(h->addr, sizeof(h->addr), "[%s]:%u", ip, ntohs(((struct sockaddr_in6 *)&got)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&got)->sin_addr, ip, sizeof(ip));
		snprintf(h->addr, sizeof(h->addr), "%s:%u", ip, ntohs(((struct sockaddr_in *)&got)->sin_port));
	}
	h->listener = h2o_evloop_socket_create(h->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	h->listener->data = h;
	h->listening = true;
	return 0;
}

/* Room for max_conns descriptors: the soft limit raised toward the hard
 * one; max_conns lowered to what fits. */
static void fit_conns(sw_http *h)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)h->o.max_conns + 256) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)h->o.max_conns + 256
				      ? (rlim_t)h->o.max_conns + 256 : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)h->o.max_conns + 256)
			h->o.max_conns = rl.rlim_cur > 512 ? (unsigned)(rl.rlim_cur - 256) : 256;
	}
}

int sw_http_new(sw_http **out, const sw_http_opts *o, sw_error *err)
{
	sw_http *h;
	int rc;

	*out = NULL;
	if (!(h = calloc(1, sizeof(*h))))
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	h->o = *o;
	h->sigpipe[0] = h->sigpipe[1] = -1;
	if (!h->o.max_conns)
		h->o.max_conns = 4096;
	fit_conns(h);
	signal(SIGPIPE, SIG_IGN);
	h2o_config_init(&h->conf);
	h->conf.max_request_entity_size = h->o.max_body;
	h->conf.http1.req_timeout = h->o.read_timeout_ms;
	h->conf.http2.idle_timeout = h->o.read_timeout_ms;
	h->conf.handshake_timeout = h->o.handshake_timeout_ms;
	h->conf.http2.graceful_shutdown_timeout = h->o.grace_ms;
	h->conf.server_name = h2o_iovec_init(H2O_STRLIT(""));
	h->host = h2o_config_register_host(&h->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_context_init(&h->ctx, h2o_evloop_create(), &h->conf);
	h->accept.ctx = &h->ctx;
	h->accept.hosts = h->conf.hosts;
	if (!(h->accept.ssl_ctx = load_pair(h, err))) {
		rc = err->code;
		goto fail;
	}
	(void)stat_pair(h, &h->loaded);
	h->queue = h2o_multithread_create_queue(h->ctx.loop);
	h2o_multithread_register_receiver(h->queue, &h->receiver, on_messages);
	if ((rc = open_listener(h, err)) < 0)
		goto fail;
	*out = h;
	return 0;
fail:
	sw_http_free(h);
	return rc;
}

const char *sw_http_addr(const sw_http *h)
{
	return h->addr;
}

bool sw_http_stopping(const sw_http *h)
{
	return h->stopping;
}

int sw_http_run(sw_http *h, sw_error *err)
{
	struct sigaction sa;
	double stop_at = 0;

	if (pipe2(h->sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return sw_error_set(err, SW_EIO, "pipe: %s", strerror(errno));
	sig_fd = h->sigpipe[1];
	h->sigsock = h2o_evloop_socket_create(h->ctx.loop, h->sigpipe[0], 0);
	h->sigsock->data = h;
	h2o_socket_read_start(h->sigsock, on_signal);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	h2o_timeout_init(h->ctx.loop, &h->reload_timeout, h->o.reload_ms ? h->o.reload_ms : 2000);
	h->reload_entry.cb = on_reload_tick;
	h2o_timeout_link(h->ctx.loop, &h->reload_timeout, &h->reload_entry);
	h2o_socket_read_start(h->listener, on_accept);
	sw_http_log("listening", "addr", h->addr);
	for (;;) {
		int rc = h2o_evloop_run(h->ctx.loop, 100);
		log_flush();
		if (rc != 0 && errno != EINTR)
			break;
		if (h->stopping) {
			if (!stop_at)
				stop_at = sw_now() + h->o.grace_ms / 1000.0;
			if (h->inflight == 0 || sw_now() > stop_at)
				break;
		}
	}
	/* answers already handed to h2o: let them reach the wire */
	for (stop_at = sw_now() + 0.2; sw_now() < stop_at;)
		h2o_evloop_run(h->ctx.loop, 20);
	sw_http_log("stopped", "addr", h->addr);
	sw_buf_release(&logbuf);
	return 0;
}

static sw_http *retired;

void sw_http_free(sw_http *h)
{
	if (!h)
		return;
	/* the loop, its sockets and h2o's context are left to the process's
	 * exit: h2o cannot dispose a context with connections still open, and
	 * serving is the last thing the process does. No callback of theirs
	 * runs once the loop is not run. */
	if (h->reload_entry.cb && h2o_timeout_is_linked(&h->reload_entry))
		h2o_timeout_unlink(&h->reload_entry);
	sig_fd = -1;
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	/* h holds the loop, the context and the TLS contexts: kept, reachable,
	 * for the rest of the process (a leak checker sees them still in use,
	 * which they are: connections h2o has open refer to them) */
	retired = h;
}
