/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image config and history: what the image runs when it starts, and what
 * its build ran. The poisoned images that carry miners give themselves away
 * here as often as in their files: an Entrypoint that pipes a download into
 * a shell, a Cmd with a pool URL and `--donate-level`, an Env that holds a
 * wallet, a base64 blob that decodes into any of those.
 *
 * Where a text sits decides what it means. `curl ... | bash` in a build
 * step is how half of the world installs Node.js (low); the same in an
 * Entrypoint fetches code at every start (high). A wallet-shaped string is
 * only reported next to mining context (a pool, miner options), because
 * wallet-shaped strings occur in honest data.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "mining.h"
#include "../image/runconf.h"
#include "../util/banned.h"

#define MAX_TEXT (64u << 10)    /* bytes of one field examined */
#define MAX_DECODE_DEPTH 2

typedef enum { WHERE_START, WHERE_ENV, WHERE_LABEL, WHERE_HISTORY } where;

/* Mining pool hosts seen in miner configurations (public pool lists). */
static const char *const pools[] = {
	"supportxmr.com", "nanopool.org", "minexmr.com", "2miners.com", "f2pool.com",
	"hashvault.pro", "moneroocean.stream", "c3pool.com", "herominers.com",
	"unmineable.com", "xmrpool.eu", "monerohash.com", "minergate.com",
	"nicehash.com", "pool.hashvault.pro", "xmr.pool.gntl.co.uk", "ethermine.org",
	"viabtc.com", "antpool.com", "mining-dutch.nl", "zpool.ca", "zergpool.com",
	"kryptex.network", "xmrfast.com", "gulf.moneroocean.stream", "pool.minexmr.com",
};

static const char *const miner_opts[] = {
	"--donate-level", "--cpu-max-threads-hint", "--randomx-1gb-pages", "--rig-id",
	"--coin=monero", "--coin monero", "-a rx/0", "--algo=rx/0", "--algo rx/0",
	"-a cryptonight", "--algo=cryptonight", "--max-cpu-usage", "--cpu-priority",
	"--nicehash", "--tls-fingerprint",
};

static const char *find_ci(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle), i, j;

	for (i = 0; k && i + k <= n; i++) {
		for (j = 0; j < k; j++)
			if (tolower((unsigned char)hay[i + j]) != tolower((unsigned char)needle[j]))
				break;
		if (j == k)
			return hay + i;
	}
	return NULL;
}

static bool is_word(const char *hay, const char *at, size_t n, const char *w)
{
	size_t k = strlen(w);
	bool left = at == hay || !isalnum((unsigned char)at[-1]);
	bool right = (size_t)(at - hay) + k >= n || !isalnum((unsigned char)at[k]);

	return left && right;
}

/* `curl|wget ... | sh`, `base64 -d | sh`, or download + chmod +x. */
static const char *fetch_exec(const char *t, size_t n)
{
	static const char *const getters[] = { "curl", "wget", "fetch", "busybox wget" };
	static const char *const shells[] = { "sh", "bash", "dash", "ash", "zsh", "python",
					      "python3", "perl", "ruby", "node", "php" };
	const char *pipe = NULL, *got = NULL, *end;
	size_t i, k;

	for (i = 0; i < sizeof(getters) / sizeof(getters[0]) && !got; i++) {
		const char *p = t;
		while ((p = find_ci(p, n - (size_t)(p - t), getters[i])) && !is_word(t, p, n, getters[i]))
			p++;
		got = p;
	}
	if (!got) {
		const char *b = find_ci(t, n, "base64");
		if (b && (find_ci(b, n - (size_t)(b - t), " -d") || find_ci(b, n - (size_t)(b - t), "--decode")))
			got = b;
	}
	if (!got)
		return NULL;
	end = t + n;
	for (pipe = memchr(got, '|', (size_t)(end - got)); pipe;
	     pipe = memchr(pipe + 1, '|', (size_t)(end - pipe - 1))) {
		const char *q = pipe + 1;
		if (q < end && *q == '|') {
			pipe = q; /* || is "or", not a pipe */
			continue;
		}
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (end - q >= 5 && memcmp(q, "sudo ", 5) == 0)
			q += 5;
		if (end - q >= 5 && memcmp(q, "/bin/", 5) == 0)
			q += 5;
		else if (end - q >= 9 && memcmp(q, "/usr/bin/", 9) == 0)
			q += 9;
		for (k = 0; k < sizeof(shells) / sizeof(shells[0]); k++) {
			size_t l = strlen(shells[k]);
			if ((size_t)(end - q) >= l && memcmp(q, shells[k], l) == 0 &&
			    (q + l == end || !isalnum((unsigned char)q[l])))
				return "download piped into an interpreter";
		}
		if (pipe + 1 >= end)
			break;
	}
	if (find_ci(got, n - (size_t)(got - t), "chmod +x") || find_ci(got, n - (size_t)(got - t), "chmod 7") ||
	    find_ci(got, n - (size_t)(got - t), "chmod 0755"))
		return "download made executable";
	return NULL;
}

/* The stratum scheme or pool domain t names, NULL if none; where in t. */
static const char *pool_at(const char *t, size_t n, const char **at)
{
	static const char *const schemes[] = { "stratum+tcp://", "stratum+ssl://", "stratum+tls://",
					       "stratum2+tcp://", "stratum1+tcp://" };
	size_t i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if ((*at = find_ci(t, n, schemes[i])))
			return schemes[i];
	for (i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
		if ((*at = find_ci(t, n, pools[i])))
			return pools[i];
	return NULL;
}

static const char *pool_of(const char *t, size_t n)
{
	const char *at;

	return pool_at(t, n, &at);
}

static const char *miner_opt(const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(miner_opts) / sizeof(miner_opts[0]); i++)
		if (find_ci(t, n, miner_opts[i]))
			return miner_opts[i];
	return NULL;
}

static bool base58(char c)
{
	return isalnum((unsigned char)c) && c != '0' && c != 'O' && c != 'I' && c != 'l';
}

/* A Monero address: 95 (standard) or 106 (integrated) base58 characters
 * starting with 4 or 8. Returns its start, NULL if none. */
static const char *wallet_of(const char *t, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		while (j < n && base58(t[j]))
			j++;
		if ((j - i == 95 || j - i == 106) && (t[i] == '4' || t[i] == '8'))
			return t + i;
		i = j + 1;
	}
	return NULL;
}

static bool host_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
}

typedef struct ctx {
	sw_emit *out;
	int layer;               /* history steps: their layer, else -1 */
	const char *step;        /* history created_by, else NULL */
	bool mining_context;     /* a pool or miner option anywhere in the config */
	const char *user;        /* config User ("" = root by default) */
} ctx;

static int emit(ctx *c, const char *id, sw_severity sev, const char *cat, const char *title,
		const char *field, const char *text, size_t n, const char *match, const char *decoded)
{
	sw_buf ev = SW_BUF_INIT(MAX_TEXT * 2);
	sw_jw w = SW_JW_INIT(&ev);
	int rc;

	sw_jw_obj(&w);
	sw_jw_kstr(&w, "field", field);
	sw_jw_key(&w, "value");
	sw_jw_strn(&w, text, n > 2048 ? 2048 : n);
	sw_jw_kstr(&w, "match", match);
	if (strcmp(field, "Entrypoint+Cmd") == 0) /* who it runs as: root makes whatever starts worse */
		sw_jw_kstr(&w, "user", c->user && *c->user ? c->user : "root (no User set)");
	if (decoded) {
		sw_jw_key(&w, "decoded");
		sw_jw_strn(&w, decoded, strlen(decoded) > 2048 ? 2048 : strlen(decoded));
	}
	sw_jw_end(&w);
	if ((rc = sw_jw_done(&w)) == 0) /* never half an object as evidence */
		rc = sw_emit_step_finding(c->out, c->layer, c->step, id, sev, cat, title, sw_buf_cstr(&ev));
	sw_buf_release(&ev);
	return rc;
}

static int check_text(ctx *c, where w, const char *field, const char *t, size_t n, int depth,
		      const char *outer, size_t outer_n);

static int b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z') return ch - 'A';
	if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9') return ch - '0' + 52;
	if (ch == '+' || ch == '-') return 62;
	if (ch == '/' || ch == '_') return 63;
	return -1;
}

/* The base64 token t[i..j) decoded into dec (room for (j - i) * 3 / 4 + 1
 * bytes, NUL-terminated): its length when it is text (nine tenths
 * printable, no NUL), else 0. */
static size_t b64_text(const char *t, size_t i, size_t j, char *dec)
{
	size_t k, o = 0, printable = 0;
	unsigned acc = 0;
	int bits = 0;

	for (k = i; k < j; k++) {
		acc = acc << 6 | (unsigned)b64val((unsigned char)t[k]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dec[o] = (char)((acc >> bits) & 0xFF);
			printable += (unsigned char)dec[o] >= 0x20 || dec[o] == '\n' || dec[o] == '\t';
			o++;
		}
	}
	dec[o] = '\0';
	return o && printable * 10 >= o * 9 && !memchr(dec, '\0', o) ? o : 0;
}

/* The next base64-looking token of 20+ characters in t[*at..n): its
 * start and end in *i, *j, the scan moved past it. false when none. */
static bool b64_next(const char *t, size_t n, size_t *at, size_t *i, size_t *j)
{
	while (*at < n) {
		size_t s = *at, e = s, k;
		while (e < n && b64val((unsigned char)t[e]) >= 0)
			e++;
		k = e;
		while (k < n && t[k] == '=')
			k++;
		*at = k > e ? k : e + 1; /* the next token starts after the '=' run */
		if (e - s >= 20) {
			*i = s;
			*j = e;
			return true;
		}
	}
	return false;
}

static void mining_plain(const char *t, size_t n, sw_mining_hit *h)
{
	const char *at = NULL, *s, *e, *end;

	if (n > MAX_TEXT)
		n = MAX_TEXT;
	end = t + n;
	h->pool = h->host = h->option = h->wallet = NULL;
	h->host_len = h->wallet_len = 0;
	if ((h->pool = pool_at(t, n, &at))) {
		/* the address: after a scheme, else the word around the domain */
		bool scheme = strncmp(h->pool, "stratum", 7) == 0;
		s = scheme ? at + strlen(h->pool) : at;
		while (!scheme && s > t && host_char(s[-1]) && s[-1] != ':')
			s--;
		for (e = s; e < end && host_char(*e); e++)
			;
		h->host = s;
		h->host_len = (size_t)(e - s);
	}
	h->option = miner_opt(t, n);
	if ((h->wallet = wallet_of(t, n)))
		for (; h->wallet + h->wallet_len < end && base58(h->wallet[h->wallet_len]); h->wallet_len++)
			;
}

/* As the config analysis: the text, and when it holds no pool and no
 * option, its base64 tokens that decode to text (the first with either,
 * decoded into h->dec). */
void sw_detect__mining(const char *t, size_t n, sw_mining_hit *h)
{
	size_t at = 0, i, j;

	h->decoded = false;
	h->dec[0] = 0;
	mining_plain(t, n > MAX_TEXT ? MAX_TEXT : n, h);
	if (sw_mining_context(h))
		return;
	if (n > MAX_TEXT)
		n = MAX_TEXT;
	while (b64_next(t, n, &at, &i, &j)) {
		sw_mining_hit d;
		size_t o;
		if ((j - i) * 3 / 4 + 1 > sizeof(h->dec) || !(o = b64_text(t, i, j, d.dec)))
			continue;
		mining_plain(d.dec, o, &d);
		if (!sw_mining_context(&d))
			continue;
		memcpy(h->dec, d.dec, o + 1);
		h->pool = d.pool;
		h->option = d.option;
		h->host = d.host ? h->dec + (d.host - d.dec) : NULL;
		h->host_len = d.host_len;
		if (d.wallet) { /* a wallet beside the decoded settings wins over one outside */
			h->wallet = h->dec + (d.wallet - d.dec);
			h->wallet_len = d.wallet_len;
		}
		h->decoded = true;
		return;
	}
}

/* Decode every base64-looking token of 20+ characters that decodes to text
 * and look inside it: attackers hide the pool and the wallet that way. */
static int check_base64(ctx *c, where w, const char *field, const char *t, size_t n, int depth)
{
	size_t at = 0, i, j, o;
	int rc;

	while (b64_next(t, n, &at, &i, &j)) {
		char *dec = malloc((j - i) * 3 / 4 + 1);
		if (!dec)
			return SW_ENOMEM;
		rc = (o = b64_text(t, i, j, dec)) ? check_text(c, w, field, dec, o, depth + 1, t, n) : 0;
		free(dec);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_text(ctx *c, where w, const char *field, const char *t, size_t n, int depth,
		      const char *outer, size_t outer_n)
{
	const char *decoded = depth ? t : NULL, *m;
	const char *show = depth ? outer : t;
	size_t shown = depth ? outer_n : n;
	bool start = w == WHERE_START, hist = w == WHERE_HISTORY;
	int rc;

	if (n > MAX_TEXT)
		n = MAX_TEXT;
	if ((m = fetch_exec(t, n)) &&
	    (rc = emit(c, hist ? "SW-HISTORY-FETCH-EXEC" : "SW-CONFIG-FETCH-EXEC",
		       start ? SW_SEV_HIGH : hist ? SW_SEV_LOW : SW_SEV_MEDIUM,
		       start ? "dropper" : "suspicious-config",
		       start ? "The image downloads and runs code when it starts" :
		       hist ? "A build step ran downloaded code" : "Configuration downloads and runs code",
		       field, show, shown, m, decoded)) < 0)
		return rc;
	if ((m = pool_of(t, n)) &&
	    (rc = emit(c, hist ? "SW-HISTORY-POOL" : "SW-CONFIG-POOL", SW_SEV_HIGH, "miner",
		       "A mining pool is named in the image configuration", field, show, shown, m,
		       decoded)) < 0)
		return rc;
	if ((m = miner_opt(t, n)) &&
	    (rc = emit(c, hist ? "SW-HISTORY-MINER-ARGS" : "SW-CONFIG-MINER-ARGS",
		       start ? SW_SEV_CRITICAL : SW_SEV_HIGH, "miner",
		       start ? "The image starts a cryptocurrency miner" :
		       "Cryptocurrency miner options in the image configuration",
		       field, show, shown, m, decoded)) < 0)
		return rc;
	if (c->mining_context && (m = wallet_of(t, n))) {
		char addr[107];
		size_t l = 0;
		while (l < sizeof(addr) - 1 && base58(m[l]) && m + l < t + n)
			l++;
		memcpy(addr, m, l);
		addr[l] = '\0';
		if ((rc = emit(c, hist ? "SW-HISTORY-WALLET" : "SW-CONFIG-WALLET", SW_SEV_HIGH, "miner",
			       "A Monero wallet next to mining settings", field, show, shown, addr,
			       decoded)) < 0)
			return rc;
	}
	if (depth < MAX_DECODE_DEPTH)
		return check_base64(c, w, field, t, n, depth);
	return 0;
}

/* Join a string array ("Healthcheck", "OnBuild", ...) with spaces. */
static void join(sw_buf *b, const sw_json *arr)
{
	const sw_json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next)
		if (e->type == SW_JSON_STR) {
			if (b->len)
				sw_buf_putc(b, ' ');
			sw_buf_append(b, e->s, e->slen);
		}
}

/* The same for argv or Env of the run configuration. */
static void join_strv(sw_buf *b, char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (b->len)
			sw_buf_putc(b, ' ');
		sw_buf_append(b, v[i], strlen(v[i]));
	}
}

/* Ports that mining pools, proxies and Monero daemons listen on by default
 * (stratum 3333/4444/5555/7777, mining proxies 14444/14433, p2pool 3333/37889,
 * monerod 18080/18081/18089), and the Docker Engine API (2375 plain, 2376
 * TLS), which cryptojacking worms scan for. An honest image may expose any
 * of them (docker:dind exposes 2375/2376, a Monero node 18080), so alone
 * this is low; with mining settings elsewhere in the config it is medium. */
static const struct { unsigned port; const char *what; } ports[] = {
	{ 3333, "stratum pool / p2pool" }, { 4444, "stratum pool" }, { 5555, "stratum pool" },
	{ 7777, "stratum pool" }, { 14433, "mining proxy (TLS)" }, { 14444, "mining proxy" },
	{ 37889, "p2pool" }, { 18080, "monerod p2p" }, { 18081, "monerod RPC" },
	{ 18089, "monerod restricted RPC" }, { 2375, "Docker Engine API (plain)" },
	{ 2376, "Docker Engine API (TLS)" },
};

static int check_ports(ctx *c, const sw_json *exposed)
{
	const sw_json *e;
	int rc = 0;

	for (e = exposed ? exposed->child : NULL; e && rc == 0; e = e->next) {
		unsigned long port;
		char *end;
		size_t i;
		if (!e->key || !isdigit((unsigned char)e->key[0]))
			continue;
		port = strtoul(e->key, &end, 10);
		if (*end && *end != '/')
			continue;
		for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
			if (ports[i].port == port)
				rc = emit(c, "SW-CONFIG-PORT", c->mining_context ? SW_SEV_MEDIUM : SW_SEV_LOW,
					  "suspicious-config",
					  c->mining_context ? "Exposes a mining port, with mining settings in the config"
							    : "Exposes a port used by mining pools or the Docker API",
					  "ExposedPorts", e->key, strlen(e->key), ports[i].what, NULL);
	}
	return rc;
}

static bool has_context(const char *t, size_t n)
{
	return pool_of(t, n) || miner_opt(t, n);
}

static int config_image(void *state, const sw_image *img, sw_emit *out)
{
	sw_json_doc *doc = NULL;
	const sw_json *root, *cfg, *e, *h;
	sw_buf start = SW_BUF_INIT(MAX_TEXT), all = SW_BUF_INIT(4 * MAX_TEXT);
	ctx c = { out, -1, NULL, false, NULL };
	sw_runconf run = { 0 };
	size_t len, li = 0, i;
	const char *text = sw_image_config(img, &len);
	int rc = 0;

	(void)state;
	if (!text || sw_json_parse(text, len, &doc, NULL) < 0)
		return 0; /* dir: sources have none; sources verified it parses */
	root = sw_json_root(doc);
	cfg = sw_json_get_obj(root, "config");
	if ((rc = sw_runconf_from(cfg, &run)) < 0)
		goto out;
	/* what runs at start: Entrypoint + Cmd as one command line, Healthcheck, OnBuild */
	join_strv(&start, run.argv, run.argc);
	join(&start, sw_json_get_arr(sw_json_get_obj(cfg, "Healthcheck"), "Test"));
	join(&start, sw_json_get_arr(cfg, "OnBuild"));
	sw_buf_append(&all, start.data, start.len);
	join_strv(&all, run.env, run.nenv);
	for (e = sw_json_get_obj(cfg, "Labels") ? sw_json_get_obj(cfg, "Labels")->child : NULL; e; e = e->next)
		if (e->type == SW_JSON_STR)
			sw_buf_printf(&all, " %s", e->s);
	for (h = sw_json_get_arr(root, "history") ? sw_json_get_arr(root, "history")->child : NULL; h; h = h->next)
		if (sw_json_get_str(h, "created_by"))
			sw_buf_printf(&all, " %s", sw_json_get_str(h, "created_by"));
	c.mining_context = has_context(all.data ? all.data : "", all.len);
	c.user = run.user;
	if ((rc = check_ports(&c, sw_json_get_obj(cfg, "ExposedPorts"))) < 0)
		goto out;
	if (start.len && (rc = check_text(&c, WHERE_START, "Entrypoint+Cmd", start.data, start.len, 0, NULL, 0)) < 0)
		goto out;
	for (i = 0; i < run.nenv && rc == 0; i++)
		rc = check_text(&c, WHERE_ENV, "Env", run.env[i], strlen(run.env[i]), 0, NULL, 0);
	for (e = sw_json_get_obj(cfg, "Labels") ? sw_json_get_obj(cfg, "Labels")->child : NULL; e && rc == 0; e = e->next)
		if (e->type == SW_JSON_STR)
			rc = check_text(&c, WHERE_LABEL, e->key, e->s, e->slen, 0, NULL, 0);
	for (h = sw_json_get_arr(root, "history") ? sw_json_get_arr(root, "history")->child : NULL; h && rc == 0; h = h->next) {
		const sw_json *empty = sw_json_get(h, "empty_layer");
		bool is_empty = empty && empty->type == SW_JSON_BOOL && empty->b;
		const char *cb = sw_json_get_str(h, "created_by");
		c.layer = is_empty ? -1 : (int)li;
		c.step = cb;
		if (cb)
			rc = check_text(&c, WHERE_HISTORY, "created_by", cb, strlen(cb), 0, NULL, 0);
		if (!is_empty)
			li++;
	}
out:
	sw_runconf_release(&run);
	sw_buf_release(&start);
	sw_buf_release(&all);
	sw_json_free(doc);
	return rc;
}

const sw_detector sw_detector_config = {
	.name = "config",
	.image = config_image,
};
