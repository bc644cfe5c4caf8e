/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sinkhole: the sandbox's network namespace has loopback and nothing
 * else, and every IPv4 and IPv6 address is made local to it (routes
 * "local 0.0.0.0/0" and "local ::/0" on lo, the AnyIP trick), so whatever
 * the sandbox connects to lands on a socket of ours bound to that port on
 * every address. The tracer tells us the port before the connect goes on
 * (sw_sink_ensure). No packet can leave: there is no other interface.
 *
 * The sink plays the server side of what matters: DNS (every A/AAAA
 * answered with an address of its own for that name, from 198.18.0.0/15
 * and fd53::/64, so that whatever later reaches the address is known to
 * be for the name; names recorded), stratum (a login answered with a job
 * so the miner shows wallet, worker, agent and algorithm), HTTP (request
 * line and Host recorded, 404), TLS (the SNI from the ClientHello, however
 * many records it spans, then TLS opened with a certificate of the run's
 * own authority, intercept.c, and what the client says inside served as
 * a session of its own); other TCP and UDP is recorded (first bytes both
 * ways).
 *
 * Sessions are shared fairly: a new one always gets a slot (a destination
 * past its share, or else the longest idle session, gives way), so the
 * first bytes of every connection are read however many slow ones came
 * before it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sandbox_int.h"

#define MAX_PORTS 256        /* distinct listening ports (two sockets for UDP) */
#define MAX_CONNS 128        /* open TCP sessions (SW_SINK_MAX_FDS counts both) */
#define MAX_PER_DST 32       /* of them to one destination address and port */
#define REC_BYTES 512        /* first bytes recorded each way */
#define IN_MAX (64 * 1024)   /* a session's buffered input */
#define IDLE_NS (5ull * 1000000000ull)
#define FRESH_NS (1000000000ull) /* a new session's time to send its first bytes */
#define DRAIN_NS (500000000ull) /* the final reading of the sockets, at close */
#define MAX_NAMES SW_SINK_MAX_NAMES

enum { P_UNKNOWN, P_RAW, P_HTTP, P_TLS, P_STRATUM, P_DNS };
/* a TLS session's state: none; our side of the handshake under way;
 * opened (what follows is the client's plain text); refused or failed */
enum { T_NONE, T_HANDSHAKE, T_OPEN, T_DONE };

typedef struct conn {
	int fd;
	int proto;
	unsigned port;
	char dst[INET6_ADDRSTRLEN + 8];
	char name[256];       /* the name dst was given for, or "" */
	uint8_t *in;
	size_t inlen, served, total_in, total_out;
	uint8_t out_rec[REC_BYTES];
	size_t out_reclen;
	uint64_t last, born;
	bool closing, logged, evicted;
	unsigned requests;
	int tls;
	bool tls_logged, tls_sent;  /* its event written; our certificate sent */
	bool eof;                   /* the client closed (or reset) it */
	SSL *ssl;                   /* owns rbio (what came in) and wbio */
	BIO *rbio, *wbio;
	char sni[256];
} conn;

typedef struct listener {
	int fd;
	int type;             /* SOCK_STREAM, SOCK_DGRAM */
	int family;
	unsigned port;
} listener;

struct sw_sink {
	sw_evlog *log;
	int wake_fd;
	listener ls[MAX_PORTS * 2];
	size_t nls;
	conn cs[MAX_CONNS];
	size_t ncs;
	uint64_t refused;      /* sessions no slot could be made for */
	uint64_t evicted;      /* sessions closed to make room */
	uint8_t hello[SW_TLS_HELLO_MAX]; /* a ClientHello, reassembled */
	sw_tls_ca *ca;         /* made at the first TLS session */
	bool ca_failed;
	char (*names)[256];    /* name i has address SW_SINK_NAMED + i */
	uint16_t name_at[2 * MAX_NAMES]; /* open addressing: index + 1, 0 empty */
	size_t nnames;
	uint64_t names_over;   /* answers past MAX_NAMES: the shared address */
	sw_evb ev;
};

/* ---- namespace set-up ---- */

static int nl_route_local(int family)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[32];
	} req;
	struct rtattr *ra;
	char ack[256];
	int fd, oif = (int)if_nametoindex("lo"), rc = -1;
	ssize_t n;

	if (oif <= 0 || (fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) < 0)
		return -1;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_NEWROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	req.rt.rtm_family = (unsigned char)family;
	req.rt.rtm_table = RT_TABLE_LOCAL;
	req.rt.rtm_protocol = RTPROT_BOOT;
	req.rt.rtm_scope = RT_SCOPE_HOST;
	req.rt.rtm_type = RTN_LOCAL;
	ra = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	ra->rta_type = RTA_OIF;
	ra->rta_len = RTA_LENGTH(sizeof(int));
	memcpy(RTA_DATA(ra), &oif, sizeof(int));
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(ra->rta_len);
	if (send(fd, &req, req.nh.nlmsg_len, 0) == (ssize_t)req.nh.nlmsg_len &&
	    (n = recv(fd, ack, sizeof(ack), 0)) >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
		struct nlmsghdr *h = (struct nlmsghdr *)ack;
		struct nlmsgerr *e = NLMSG_DATA(h);
		if (h->nlmsg_type == NLMSG_ERROR && e->error == 0)
			rc = 0;
	}
	close(fd);
	return rc;
}

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

static listener *find_listener(sw_sink *s, int type, int family, unsigned port)
{
	size_t i;

	for (i = 0; i < s->nls; i++)
		if (s->ls[i].type == type && s->ls[i].family == family && s->ls[i].port == port)
			return &s->ls[i];
	return NULL;
}

static int add_listener(sw_sink *s, int type, int family, unsigned port)
{
	int fd, one = 1, zero = 0;
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;

	if (find_listener(s, type, family, port))
		return 0;
	if (s->nls >= sizeof(s->ls) / sizeof(s->ls[0]))
		return -1;
	if ((fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6) {
		/* TCP: one dual-stack socket; UDP: v6 only (v4 has its own, so
		 * that answers leave from the address that was asked) */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, type == SOCK_DGRAM ? &one : &zero, sizeof(int));
		if (type == SOCK_DGRAM)
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)port);
		a6.sin6_addr = in6addr_any;
		if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) < 0)
			goto fail;
	} else {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		memset(&a4, 0, sizeof(a4));
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)port);
		a4.sin_addr.s_addr = htonl(INADDR_ANY);
		if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0)
			goto fail;
	}
	if (type == SOCK_STREAM && listen(fd, 64) < 0)
		goto fail;
	s->ls[s->nls++] = (listener){ fd, type, family, port };
	if (s->wake_fd >= 0) {
		uint64_t one64 = 1;
		(void)!write(s->wake_fd, &one64, sizeof(one64));
	}
	return 0;
fail:
	close(fd);
	return -1;
}

void sw_sink_ensure(sw_sink *s, int type, unsigned port)
{
	if (port == 0 || port > 65535)
		return;
	if (type == SOCK_STREAM) {
		(void)add_listener(s, SOCK_STREAM, AF_INET6, port);
	} else if (type == SOCK_DGRAM) {
		(void)add_listener(s, SOCK_DGRAM, AF_INET, port);
		(void)add_listener(s, SOCK_DGRAM, AF_INET6, port);
	}
}

int sw_sink_open(sw_sink **out, sw_evlog *log, int wake_fd, sw_error *err)
{
	sw_sink *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return sw_error_set(err, SW_ENOMEM, "out of memory");
	s->log = log;
	s->wake_fd = wake_fd;
	s->ev.b = (sw_buf)SW_BUF_INIT(64 * 1024);
	if (lo_up() < 0 || nl_route_local(AF_INET) < 0) {
		free(s);
		return sw_error_set(err, SW_ERROR, "sandbox network: cannot bring up loopback with every address local (%s)",
				    strerror(errno));
	}
	(void)nl_route_local(AF_INET6); /* IPv6 may be off in this kernel */
	sw_sink_ensure(s, SOCK_DGRAM, 53);
	sw_sink_ensure(s, SOCK_STREAM, 53);
	*out = s;
	return 0;
}

/* ---- names and their addresses ---- */

/* The index of name (lowercase, no final dot) in the table, added when
 * new; -1 when it is empty or the table is full (counted). */
static long name_index(sw_sink *s, const char *name)
{
	size_t x;

	if (!name[0])
		return -1;
	for (x = sw_sbx_hash(name) & (2 * MAX_NAMES - 1); s->name_at[x]; x = (x + 1) & (2 * MAX_NAMES - 1))
		if (strcmp(s->names[s->name_at[x] - 1u], name) == 0)
			return (long)s->name_at[x] - 1;
	if (s->nnames >= MAX_NAMES || (!s->names && !(s->names = malloc(MAX_NAMES * sizeof(*s->names))))) {
		s->names_over++;
		return -1;
	}
	snprintf(s->names[s->nnames], sizeof(s->names[0]), "%s", name);
	s->name_at[x] = (uint16_t)++s->nnames;
	return (long)s->nnames - 1;
}

/* Address number v (1: the shared address, 2 + k: name k) of the sink's
 * networks: 198.18.0.0 + v, fd53:: + v. */
static void sink_addr(uint32_t v, bool v6, uint8_t *out)
{
	uint8_t *p = out;

	if (v6) {
		inet_pton(AF_INET6, SW_SINK_V6, out);
		p = out + 12;
	} else {
		v += 198u << 24 | 18u << 16;
	}
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* The address a name is given: v4 (4 bytes) or v6 (16) into out. Without
 * a sink, or past the table, the shared one. */
static void name_addr(sw_sink *s, const char *qname, bool v6, uint8_t *out)
{
	char name[256];
	size_t i, l = strnlen(qname, 255);
	long k;

	for (i = 0; i < l; i++)
		name[i] = (char)(qname[i] >= 'A' && qname[i] <= 'Z' ? qname[i] + 32 : qname[i]);
	while (l && name[l - 1] == '.')
		l--;
	name[l] = 0;
	k = s ? name_index(s, name) : -1;
	sink_addr(k >= 0 ? (uint32_t)(2 + k) : 1, v6, out);
}

const char *sw_sink_host(const sw_sink *s, int family, const void *addr)
{
	const uint8_t *a = addr;
	uint8_t net[16];
	uint32_t v;

	if (!s || !s->nnames)
		return NULL;
	if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)addr)) {
		family = AF_INET;
		a += 12;
	}
	if (family == AF_INET6) {
		sink_addr(0, true, net);
		if (memcmp(a, net, 12) != 0)
			return NULL;
		v = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
	} else if (family == AF_INET && a[0] == 198 && (a[1] & 0xfe) == 18) { /* 198.18.0.0/15 */
		v = (uint32_t)(a[1] - 18) << 16 | (uint32_t)a[2] << 8 | a[3];
	} else {
		return NULL;
	}
	return v >= 2 && v - 2 < s->nnames ? s->names[v - 2] : NULL;
}

/* ---- protocol readers ---- */

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

int sw_dns_answer(sw_sink *s, const uint8_t *q, size_t n, uint8_t *out, size_t outmax, char name[256],
		  unsigned *qtype)
{
	size_t off = 12, nl = 0, qend;
	unsigned qclass, labels = 0;
	size_t o;

	name[0] = 0;
	*qtype = 0;
	if (n < 12 || n > 4096 || (q[2] & 0x80) || be16(q + 4) < 1)
		return -1;
	while (off < n && q[off]) {
		unsigned len = q[off];
		if (len > 63 || off + 1 + len > n || nl + len + 1 > 255 || ++labels > 127)
			return -1; /* compression pointers have no place in a question */
		if (nl)
			name[nl++] = '.';
		memcpy(name + nl, q + off + 1, len);
		nl += len;
		off += 1 + len;
	}
	name[nl] = 0;
	if (off + 5 > n)
		return -1;
	off++;
	*qtype = be16(q + off);
	qclass = be16(q + off + 2);
	qend = off + 4;
	for (o = 0; o < nl; o++)
		if ((unsigned char)name[o] < 0x21 || (unsigned char)name[o] > 0x7e)
			name[o] = '?';
	if (qend + 28 > outmax || (q[2] & 0x78) != 0 /* only standard queries */)
		return 0;
	memcpy(out, q, qend);
	out[2] = (uint8_t)(0x80 | (q[2] & 0x01)); /* QR, RD as asked */
	out[3] = 0x80;                             /* RA, NOERROR */
	out[4] = 0; out[5] = 1;                    /* one question */
	out[6] = 0; out[7] = 0;
	out[8] = out[9] = out[10] = out[11] = 0;
	o = qend;
	if (qclass == 1 && (*qtype == 1 || *qtype == 28)) {
		static const uint8_t head[] = { 0xc0, 0x0c };
		bool v6 = *qtype == 28;
		memcpy(out + o, head, 2);
		out[o + 2] = 0; out[o + 3] = (uint8_t)*qtype;
		out[o + 4] = 0; out[o + 5] = 1;
		out[o + 6] = 0; out[o + 7] = 0; out[o + 8] = 0; out[o + 9] = 60; /* TTL */
		out[o + 10] = 0; out[o + 11] = v6 ? 16 : 4;
		name_addr(s, name, v6, out + o + 12);
		o += 12 + (v6 ? 16 : 4);
		out[7] = 1;
	}
	return (int)o;
}

/* The SNI of a ClientHello handshake message (its 4-byte header first),
 * whole or cut short. */
static int hello_sni(const uint8_t *p, size_t end, char out[256])
{
	size_t off = 0, l;

	out[0] = 0;
	if (off + 4 > end || p[off] != 1) /* ClientHello */
		return -1;
	off += 4 + 2 + 32;                /* header, version, random */
	if (off + 1 > end)
		return -1;
	off += 1 + p[off];                /* session id */
	if (off + 2 > end)
		return -1;
	off += 2 + be16(p + off);         /* cipher suites */
	if (off + 1 > end)
		return -1;
	off += 1 + p[off];                /* compression methods */
	if (off + 2 > end)
		return 0;
	l = be16(p + off);
	off += 2;
	if (off + l < end)
		end = off + l;
	while (off + 4 <= end) {
		unsigned type = be16(p + off), len = be16(p + off + 2);
		size_t x = off + 4;
		if (x + len > end)
			return -1;
		if (type == 0 && len >= 5) { /* server_name: list, type 0, name */
			size_t nlen = be16(p + x + 3), i;
			if (p[x + 2] != 0 || x + 5 + nlen > x + len || nlen == 0 || nlen > 255)
				return -1;
			for (i = 0; i < nlen; i++) {
				unsigned char c = p[x + 5 + i];
				out[i] = (char)(c > 0x20 && c < 0x7f ? c : '?');
			}
			out[nlen] = 0;
			return 1;
		}
		off = x + len;
	}
	return 0;
}

int sw_tls_hello(const uint8_t *p, size_t n, uint8_t *hs, size_t hsmax, size_t *hslen)
{
	size_t off = 0, want = 0;

	*hslen = 0;
	while (off + 5 <= n) {
		size_t rl = be16(p + off + 3), k;
		if (p[off] != 0x16 || p[off + 1] != 3 || rl == 0 || rl > 16384 + 2048)
			return -1; /* a handshake record of TLS 1.x, at most 2^14 (+ slack) */
		k = n - off - 5 < rl ? n - off - 5 : rl;
		if (*hslen + k > hsmax)
			k = hsmax - *hslen;
		memcpy(hs + *hslen, p + off + 5, k);
		*hslen += k;
		if (!want && *hslen >= 4) {
			if (hs[0] != 1)
				return -1;
			want = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3]);
			if (want > hsmax)
				return -1;
		}
		if (want && *hslen >= want) {
			*hslen = want;
			return 1;
		}
		if (k < rl)
			return 0; /* this record is still coming */
		off += 5 + rl;
	}
	return 0;
}

int sw_tls_sni(const uint8_t *p, size_t n, char out[256])
{
	uint8_t *hs = malloc(SW_TLS_HELLO_MAX);
	size_t hl;
	int r;

	out[0] = 0;
	if (!hs)
		return -1;
	r = sw_tls_hello(p, n, hs, SW_TLS_HELLO_MAX, &hl);
	r = r < 0 ? -1 : hello_sni(hs, hl, out);
	free(hs);
	return r;
}

/* ---- sessions ---- */

static void addr_str(const struct sockaddr_storage *ss, char *out, size_t n, unsigned *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			inet_ntop(AF_INET, (const uint8_t *)&a->sin6_addr + 12, out, (socklen_t)n);
		else
			inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)n);
		*port = ntohs(a->sin6_port);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)n);
		*port = ntohs(a->sin_port);
	} else {
		snprintf(out, n, "?");
		*port = 0;
	}
}

static void sock_send(conn *c, const void *p, size_t n)
{
	ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w > 0)
		c->total_out += (size_t)w;
}

/* What TLS has for the client, onto the socket. */
static void tls_flush(conn *c)
{
	char buf[16384];
	int n;

	while (BIO_ctrl_pending(c->wbio) > 0 && (n = BIO_read(c->wbio, buf, sizeof(buf))) > 0)
		sock_send(c, buf, (size_t)n);
}

/* An answer of the sink's: recorded (the first bytes), then sent, through
 * TLS on an opened session. */
static void conn_send(conn *c, const char *p, size_t n)
{
	size_t k = n < REC_BYTES - c->out_reclen ? n : REC_BYTES - c->out_reclen;

	memcpy(c->out_rec + c->out_reclen, p, k);
	c->out_reclen += k;
	if (c->tls == T_OPEN) {
		if (SSL_write(c->ssl, p, (int)n) <= 0)
			ERR_clear_error();
		tls_flush(c);
	} else {
		sock_send(c, p, n);
	}
}

/* An event about session c: where it went (the address, the name it was
 * given for, the port). */
static void conn_ev_where(sw_sink *s, conn *c, const char *kind)
{
	sw_ev_begin(s->log, &s->ev, kind, 0, 0);
	sw_ev_str(&s->ev, "dst", c->dst, sizeof(c->dst));
	if (c->name[0])
		sw_ev_str(&s->ev, "name", c->name, sizeof(c->name) - 1);
	sw_ev_int(&s->ev, "port", c->port);
}

/* The same, and whether TLS was opened on it. */
static void conn_ev(sw_sink *s, conn *c, const char *kind)
{
	conn_ev_where(s, c, kind);
	if (c->tls == T_OPEN) {
		sw_ev_str(&s->ev, "tls", "intercepted", 16);
		sw_ev_str(&s->ev, "sni", c->sni, sizeof(c->sni) - 1);
	}
}

static const char *proto_name(int p)
{
	static const char *const names[] = { "unknown", "raw", "http", "tls", "stratum", "dns" };
	return names[p];
}

/* The session's summary: destination, protocol, first bytes both ways. */
static void conn_log(sw_sink *s, conn *c)
{
	sw_evb *b = &s->ev;

	if (c->logged)
		return;
	c->logged = true;
	conn_ev(s, c, "tcp-session");
	/* a TLS session not opened has no protocol of its own to show */
	sw_ev_str(b, "protocol", proto_name(c->tls != T_NONE && c->proto == P_UNKNOWN ? P_TLS : c->proto), 16);
	sw_ev_int(b, "bytes_in", (int64_t)c->total_in);
	sw_ev_int(b, "bytes_out", (int64_t)c->total_out);
	sw_ev_bytes(b, "first_in", (const char *)c->in, c->inlen < REC_BYTES ? c->inlen : REC_BYTES);
	sw_ev_bytes(b, "first_out", (const char *)c->out_rec, c->out_reclen);
	if (c->evicted)
		sw_jw_kbool(&b->w, "evicted", true);
	sw_ev_end(s->log, b);
}

static void http_serve(sw_sink *s, conn *c)
{
	static const char resp[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	const char *p = (const char *)c->in, *end = p + c->inlen, *eol, *host = NULL, *ua = NULL;
	size_t hl = 0, ul = 0;
	sw_evb *b = &s->ev;
	char *hdr_end = memmem(c->in, c->inlen, "\r\n\r\n", 4);

	if (!hdr_end && c->inlen < IN_MAX)
		return;
	end = hdr_end ? hdr_end : end;
	eol = memchr(p, '\r', (size_t)(end - p));
	if (!eol)
		eol = end;
	for (const char *l = eol; l && l + 2 < end;) {
		const char *next;
		l += 2;
		next = memmem(l, (size_t)(end - l), "\r\n", 2);
		if (!next)
			next = end;
		if ((size_t)(next - l) > 5 && strncasecmp(l, "host:", 5) == 0) {
			host = l + 5;
			hl = (size_t)(next - host);
		} else if ((size_t)(next - l) > 11 && strncasecmp(l, "user-agent:", 11) == 0) {
			ua = l + 11;
			ul = (size_t)(next - ua);
		}
		l = next;
	}
	while (host && hl && *host == ' ')
		host++, hl--;
	while (ua && ul && *ua == ' ')
		ua++, ul--;
	conn_ev(s, c, "http");
	sw_ev_str(b, "request", p, (size_t)(eol - p) < 1024 ? (size_t)(eol - p) : 1024);
	sw_ev_str(b, "host", host ? host : "", host ? (hl < 256 ? hl : 256) : 0);
	sw_ev_str(b, "user_agent", ua ? ua : "", ua ? (ul < 256 ? ul : 256) : 0);
	sw_ev_end(s->log, b);
	conn_send(c, resp, sizeof(resp) - 1);
	c->closing = true;
}

/* The session's "tls" event, once: the server name, and what came of
 * the handshake: "intercepted" (the client took our certificate),
 * "verifying" (it refused it: a certificate alert, or it closed once our
 * certificate was sent), "failed" (anything else: alert or error given). */
static void tls_event(sw_sink *s, conn *c, const char *outcome, int alert, const char *error)
{
	sw_evb *b = &s->ev;

	if (c->tls_logged)
		return;
	c->tls_logged = true;
	conn_ev_where(s, c, "tls");
	sw_ev_str(b, "sni", c->sni, sizeof(c->sni) - 1);
	sw_ev_str(b, "tls", outcome, 16);
	if (c->ssl && c->tls == T_OPEN) {
		sw_ev_str(b, "version", SSL_get_version(c->ssl), 16);
		sw_ev_str(b, "cipher", SSL_get_cipher_name(c->ssl), 64);
	}
	if (alert >= 0)
		sw_ev_int(b, "alert", alert);
	if (error)
		sw_ev_str(b, "error", error, 128);
	sw_ev_end(s->log, b);
}

/* The handshake ended in an error: a certificate alert from the client
 * means it verifies; anything else is a failure. */
static void tls_failed(sw_sink *s, conn *c)
{
	unsigned long e = ERR_peek_last_error();
	int reason = ERR_GET_REASON(e), alert = -1;
	const char *why = ERR_reason_error_string(e);

	if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256)
		alert = reason - SSL_AD_REASON_OFFSET;
	/* bad_certificate, unsupported, revoked, expired, unknown, unknown_ca */
	if ((alert >= 42 && alert <= 46) || alert == 48)
		tls_event(s, c, "verifying", alert, NULL);
	else
		tls_event(s, c, "failed", alert, why ? why : "TLS handshake failed");
	ERR_clear_error();
	c->tls = T_DONE;
	c->closing = true;
}

static void conn_input(sw_sink *s, conn *c);

/* The TLS session's new input: the handshake taken on, or the client's
 * plain text read into c->in and served as a session of its own. */
static void tls_pump(sw_sink *s, conn *c)
{
	size_t before;
	int r;

	if (c->tls == T_HANDSHAKE) {
		r = SSL_do_handshake(c->ssl);
		if (BIO_ctrl_pending(c->wbio) > 0)
			c->tls_sent = true;
		tls_flush(c);
		if (r != 1) {
			if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ)
				tls_failed(s, c);
			return;
		}
		c->tls = T_OPEN;
		tls_event(s, c, "intercepted", -1, NULL);
	}
	if (c->tls != T_OPEN)
		return;
	before = c->inlen;
	while (c->inlen < IN_MAX) {
		r = SSL_read(c->ssl, c->in + c->inlen, (int)(IN_MAX - c->inlen));
		if (r <= 0) {
			if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ)
				c->closing = true; /* close_notify, or an error */
			ERR_clear_error();
			break;
		}
		c->inlen += (size_t)r;
	}
	tls_flush(c);
	if (c->inlen > before)
		conn_input(s, c);
}

/* A ClientHello, whole: its server name recorded, then TLS opened with a
 * certificate for that name (or for the address dialled, without one). */
static void tls_serve(sw_sink *s, conn *c)
{
	size_t hl;
	sw_error err = SW_ERROR_INIT;
	int r = sw_tls_hello(c->in, c->inlen, s->hello, sizeof(s->hello), &hl);

	if (r == 0 && c->inlen < IN_MAX)
		return; /* the ClientHello may span records: wait for all of it */
	r = r < 0 ? -1 : hello_sni(s->hello, hl, c->sni);
	if (r < 0) {
		c->sni[0] = 0;
		tls_event(s, c, "failed", -1, "not a TLS ClientHello");
		c->closing = true;
		return;
	}
	if (!s->ca && !s->ca_failed && sw_tls_ca_new(&s->ca, &err) < 0)
		s->ca_failed = true;
	if (!s->ca || !(c->ssl = sw_tls_ca_accept(s->ca, c->sni[0] ? c->sni : c->name[0] ? c->name : c->dst,
						&c->rbio, &c->wbio))) {
		tls_event(s, c, "failed", -1, s->ca ? "no certificate for the name" : "no certificate authority");
		c->closing = true;
		return;
	}
	/* the hello goes to TLS; what the session holds from now on is the
	 * client's plain text, classified afresh */
	c->tls = T_HANDSHAKE;
	c->proto = P_UNKNOWN;
	(void)BIO_write(c->rbio, c->in, (int)c->inlen);
	c->inlen = c->served = 0;
	tls_pump(s, c);
}

/* A reply's fixed members after its id: the Monero dialect's "jsonrpc",
 * and "error": null. */
static void reply_head(sw_jw *w, bool jsonrpc)
{
	if (jsonrpc)
		sw_jw_kstr(w, "jsonrpc", "2.0");
	sw_jw_key(w, "error");
	sw_jw_null(w);
}

static void reply_status(sw_jw *w, const char *status)
{
	reply_head(w, true);
	sw_jw_kobj(w, "result");
	sw_jw_kstr(w, "status", status);
	sw_jw_end(w);
}

/* One JSON-RPC line of a stratum client. Both dialects: the Monero one
 * (login / getjob / submit / keepalived) and the Bitcoin one
 * (mining.subscribe / mining.authorize / mining.submit). */
static void stratum_line(sw_sink *s, conn *c, const char *line, size_t n)
{
	sw_json_doc *doc = NULL;
	const sw_json *root, *params, *id;
	const char *method;
	sw_evb *b = &s->ev;
	sw_buf r = SW_BUF_INIT(4096);
	sw_jw w = SW_JW_INIT(&r);
	long long idn = 1;

	if (sw_json_parse(line, n, &doc, NULL) < 0 || !(root = sw_json_root(doc)) || root->type != SW_JSON_OBJ ||
	    !(method = sw_json_get_str(root, "method"))) {
		sw_json_free(doc);
		return;
	}
	if ((id = sw_json_get(root, "id")) && id->type == SW_JSON_NUM && id->is_int)
		idn = id->i;
	/* every reply: {"id":N, ..., "error":null|{...}, "result":...} */
	sw_jw_obj(&w);
	sw_jw_kint(&w, "id", idn);
	params = sw_json_get(root, "params");
	c->requests++;
	if (strcmp(method, "login") == 0 && params && params->type == SW_JSON_OBJ) {
		const sw_json *algo = sw_json_get_arr(params, "algo");
		sw_buf al = SW_BUF_INIT(1024);
		const char *lg = sw_json_get_str(params, "login"), *pw = sw_json_get_str(params, "pass"),
			   *ag = sw_json_get_str(params, "agent"), *rig = sw_json_get_str(params, "rigid");
		for (const sw_json *a = algo ? algo->child : NULL; a; a = a->next)
			if (a->type == SW_JSON_STR)
				sw_buf_printf(&al, "%s%s", al.len ? "," : "", a->s);
		conn_ev(s, c, "stratum");
		sw_ev_str(b, "method", method, 64);
		sw_ev_str(b, "login", lg ? lg : "", 512);
		sw_ev_str(b, "pass", pw ? pw : "", 256);
		sw_ev_str(b, "agent", ag ? ag : "", 256);
		sw_ev_str(b, "rigid", rig ? rig : "", 256);
		sw_ev_str(b, "algo", al.len ? sw_buf_cstr(&al) : "", 512);
		sw_ev_end(s->log, b);
		sw_buf_release(&al);
		/* a job: the miner starts hashing, as it would on a real pool */
		char blob[153], seed[65];
		memset(blob, '0', 152);
		blob[152] = 0;
		memset(seed, '0', 64);
		seed[64] = 0;
		reply_head(&w, true);
		sw_jw_kobj(&w, "result");
		sw_jw_kstr(&w, "id", "sinkhole");
		sw_jw_kobj(&w, "job");
		sw_jw_kstr(&w, "blob", blob);
		sw_jw_kstr(&w, "job_id", "1");
		sw_jw_kstr(&w, "target", "ffffff00");
		sw_jw_kint(&w, "height", 1);
		sw_jw_kstr(&w, "seed_hash", seed);
		sw_jw_end(&w);
		sw_jw_kstr(&w, "status", "OK");
		sw_jw_end(&w);
	} else if (sw_stratum_is(method, "subscribe")) {
		sw_jw_karr(&w, "result");
		sw_jw_arr(&w);
		sw_jw_arr(&w);
		sw_jw_str(&w, "mining.notify");
		sw_jw_str(&w, "1");
		sw_jw_end(&w);
		sw_jw_end(&w);
		sw_jw_str(&w, "00000000");
		sw_jw_int(&w, 4);
		sw_jw_end(&w);
		reply_head(&w, false);
		conn_ev(s, c, "stratum");
		sw_ev_str(b, "method", method, 64);
		if (params && params->type == SW_JSON_ARR && params->child && params->child->type == SW_JSON_STR)
			sw_ev_str(b, "agent", params->child->s, 256);
		sw_ev_end(s->log, b);
	} else if (sw_stratum_is(method, "authorize")) {
		const sw_json *wk = params && params->type == SW_JSON_ARR ? params->child : NULL;
		conn_ev(s, c, "stratum");
		sw_ev_str(b, "method", method, 64);
		sw_ev_str(b, "login", wk && wk->type == SW_JSON_STR ? wk->s : "", 512);
		sw_ev_str(b, "pass", wk && wk->next && wk->next->type == SW_JSON_STR ? wk->next->s : "", 256);
		sw_ev_end(s->log, b);
		sw_jw_kbool(&w, "result", true);
		reply_head(&w, false);
	} else if (strcmp(method, "keepalived") == 0) {
		reply_status(&w, "KEEPALIVED");
	} else if (strcmp(method, "submit") == 0 || sw_stratum_is(method, "submit")) {
		if (c->requests < 64) {
			conn_ev(s, c, "stratum");
			sw_ev_str(b, "method", method, 64);
			sw_ev_end(s->log, b);
		}
		reply_status(&w, "OK");
	} else {
		sw_jw_kobj(&w, "error");
		sw_jw_kint(&w, "code", -1);
		sw_jw_kstr(&w, "message", "unknown method");
		sw_jw_end(&w);
		sw_jw_key(&w, "result");
		sw_jw_null(&w);
	}
	sw_jw_end(&w);
	if (sw_jw_done(&w) == 0 && sw_buf_putc(&r, '\n') == 0)
		conn_send(c, r.data, r.len);
	sw_buf_release(&r);
	sw_json_free(doc);
}

static void stratum_serve(sw_sink *s, conn *c)
{
	size_t done = c->served;

	for (;;) {
		uint8_t *nl = memchr(c->in + done, '\n', c->inlen - done);
		if (!nl)
			break;
		stratum_line(s, c, (const char *)c->in + done, (size_t)(nl - (c->in + done)));
		done = (size_t)(nl - c->in) + 1;
	}
	/* keep the first bytes for the session record; drop served lines
	 * only when the buffer fills */
	c->served = done;
	if (c->inlen >= IN_MAX / 2 && done) {
		memmove(c->in, c->in + done, c->inlen - done);
		c->inlen -= done;
		c->served = 0;
	}
}

static void dns_tcp_serve(sw_sink *s, conn *c)
{
	while (c->inlen >= 2) {
		size_t l = be16(c->in);
		uint8_t ans[600];
		char name[256];
		unsigned qt;
		int n;
		if (c->inlen < 2 + l)
			return;
		n = sw_dns_answer(s, c->in + 2, l, ans + 2, sizeof(ans) - 2, name, &qt);
		sw_ev_begin(s->log, &s->ev, "dns", 0, 0);
		sw_ev_str(&s->ev, "name", name, 255);
		sw_ev_int(&s->ev, "qtype", qt);
		sw_ev_str(&s->ev, "transport", "tcp", 8);
		sw_ev_end(s->log, &s->ev);
		if (n > 0) {
			ans[0] = (uint8_t)(n >> 8);
			ans[1] = (uint8_t)n;
			conn_send(c, (const char *)ans, (size_t)n + 2);
		}
		memmove(c->in, c->in + 2 + l, c->inlen - 2 - l);
		c->inlen -= 2 + l;
		if (n < 0) {
			c->closing = true;
			return;
		}
	}
}

static bool http_method(const uint8_t *p, size_t n)
{
	static const char *const m[] = { "GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "CONNECT ", "DELETE ", "PATCH " };
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (n >= strlen(m[i]) && memcmp(p, m[i], strlen(m[i])) == 0)
			return true;
	return false;
}

static void conn_input(sw_sink *s, conn *c)
{
	if (c->proto == P_UNKNOWN && c->inlen) {
		if (c->port == 53)
			c->proto = P_DNS;
		else if (c->in[0] == 0x16 && c->tls == T_NONE)
			c->proto = P_TLS;
		else if (http_method(c->in, c->inlen))
			c->proto = P_HTTP;
		else if (c->in[0] == '{')
			c->proto = P_STRATUM;
		else if (c->inlen >= 8 || memchr(c->in, '\n', c->inlen))
			c->proto = P_RAW;
	}
	switch (c->proto) {
	case P_HTTP: http_serve(s, c); break;
	case P_TLS: tls_serve(s, c); break;
	case P_STRATUM: stratum_serve(s, c); break;
	case P_DNS: dns_tcp_serve(s, c); break;
	default:
		if (c->inlen >= IN_MAX)
			c->closing = true;
		break;
	}
}

/* Bytes from the client: into TLS on a session it carries, else into
 * c->in; then served. n at most IN_MAX. */
static void conn_bytes(sw_sink *s, conn *c, const uint8_t *p, size_t n)
{
	c->total_in += n;
	if (c->ssl) {
		if (BIO_write(c->rbio, p, (int)n) != (int)n || BIO_ctrl_pending(c->rbio) > IN_MAX)
			c->closing = true; /* TLS bytes the session does not take */
		else
			tls_pump(s, c);
		return;
	}
	if (n > IN_MAX - c->inlen)
		n = IN_MAX - c->inlen;
	memcpy(c->in + c->inlen, p, n);
	c->inlen += n;
	conn_input(s, c);
}

/* The session's records (a handshake cut short by the client's close
 * after our certificate is a refusal of it; one cut short by us, idle,
 * evicted or at the run's end, is not), its TLS state freed. */
static void conn_end(sw_sink *s, conn *c)
{
	if (c->tls == T_HANDSHAKE && c->eof)
		tls_event(s, c, c->tls_sent ? "verifying" : "failed", -1,
			  c->tls_sent ? "closed after our certificate" : "closed during the handshake");
	else if (c->tls == T_HANDSHAKE)
		tls_event(s, c, "failed", -1, "the handshake did not finish");
	conn_log(s, c);
	SSL_free(c->ssl); /* and its BIOs */
	c->ssl = NULL;
	ERR_clear_error();
}

static void conn_close(sw_sink *s, size_t i)
{
	conn *c = &s->cs[i];

	conn_end(s, c);
	close(c->fd);
	free(c->in);
	s->cs[i] = s->cs[--s->ncs];
}

/* The session to close for a new one, or -1. A destination holding
 * MAX_PER_DST sessions gives up its own longest idle one; otherwise, when
 * every slot is taken, the longest idle of all, sparing those still
 * within FRESH_NS of their start that have sent nothing (their first
 * bytes are yet to be read) unless every session is such a one. So a
 * flood of slow sessions costs only itself, and a new session's first
 * bytes are read whatever came before it. */
static ssize_t victim(sw_sink *s, const char *dst, unsigned port, uint64_t now)
{
	ssize_t best = -1, any = -1;
	size_t i, same = 0;

	for (i = 0; i < s->ncs; i++)
		if (s->cs[i].port == port && strcmp(s->cs[i].dst, dst) == 0)
			same++;
	for (i = 0; i < s->ncs; i++) {
		const conn *c = &s->cs[i];
		bool fresh = c->total_in == 0 && c->born + FRESH_NS > now;
		if (same >= MAX_PER_DST && (c->port != port || strcmp(c->dst, dst) != 0))
			continue;
		if (any < 0 || c->last < s->cs[any].last)
			any = (ssize_t)i;
		if (!fresh && (best < 0 || c->last < s->cs[best].last))
			best = (ssize_t)i;
	}
	if (same < MAX_PER_DST && s->ncs < MAX_CONNS)
		return -1;
	return best >= 0 ? best : any;
}

static void accept_one(sw_sink *s, int lfd, unsigned port)
{
	struct sockaddr_storage dst;
	socklen_t dl = sizeof(dst);
	unsigned dport;
	char where[sizeof(((conn *)0)->dst)];
	const char *host = NULL;
	uint64_t now = sw_sbx_now();
	ssize_t v;
	conn *c;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockname(fd, (struct sockaddr *)&dst, &dl) == 0) {
		addr_str(&dst, where, sizeof(where), &dport); /* the address the sandbox dialled */
		host = sw_sink_host(s, dst.ss_family, dst.ss_family == AF_INET6 ?
				   (const void *)&((struct sockaddr_in6 *)&dst)->sin6_addr :
				   (const void *)&((struct sockaddr_in *)&dst)->sin_addr);
	} else {
		snprintf(where, sizeof(where), "?");
	}
	if ((v = victim(s, where, port, now)) >= 0) {
		s->cs[v].evicted = true;
		s->evicted++;
		conn_close(s, (size_t)v);
	}
	if (s->ncs >= MAX_CONNS || !(s->cs[s->ncs].in = malloc(IN_MAX))) {
		s->refused++;
		close(fd);
		return;
	}
	c = &s->cs[s->ncs++];
	c->fd = fd;
	c->proto = P_UNKNOWN;
	c->port = port;
	c->inlen = c->served = c->total_in = c->total_out = c->out_reclen = 0;
	c->closing = c->logged = c->evicted = false;
	c->requests = 0;
	c->tls = T_NONE;
	c->tls_logged = c->tls_sent = c->eof = false;
	c->ssl = NULL;
	c->rbio = c->wbio = NULL;
	c->sni[0] = 0;
	c->last = c->born = now;
	memcpy(c->dst, where, sizeof(c->dst));
	snprintf(c->name, sizeof(c->name), "%s", host ? host : "");
}

/* One control message into m's (large enough) control buffer; its length. */
static size_t put_cmsg(struct msghdr *m, int level, int type, const void *data, size_t n)
{
	struct cmsghdr *cm;

	m->msg_controllen = CMSG_SPACE(n);
	cm = CMSG_FIRSTHDR(m);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(n);
	memcpy(CMSG_DATA(cm), data, n);
	return CMSG_SPACE(n);
}

static void udp_one(sw_sink *s, listener *l)
{
	uint8_t buf[4096], ans[600];
	struct sockaddr_storage from;
	char cbuf[256], dst[INET6_ADDRSTRLEN] = "?";
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { &from, sizeof(from), &iov, 1, cbuf, sizeof(cbuf), 0 };
	struct cmsghdr *cm;
	struct in_pktinfo pi4;
	struct in6_pktinfo pi6;
	bool have4 = false, have6 = false;
	const char *host;
	ssize_t n = recvmsg(l->fd, &m, MSG_DONTWAIT);
	unsigned qt;
	char name[256];

	if (n < 0)
		return;
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			memcpy(&pi4, CMSG_DATA(cm), sizeof(pi4));
			inet_ntop(AF_INET, &pi4.ipi_addr, dst, sizeof(dst));
			have4 = true;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			memcpy(&pi6, CMSG_DATA(cm), sizeof(pi6));
			inet_ntop(AF_INET6, &pi6.ipi6_addr, dst, sizeof(dst));
			have6 = true;
		}
	}
	if (l->port == 53) {
		int a = sw_dns_answer(s, buf, (size_t)n, ans, sizeof(ans), name, &qt);
		sw_ev_begin(s->log, &s->ev, "dns", 0, 0);
		sw_ev_str(&s->ev, "name", name, 255);
		sw_ev_int(&s->ev, "qtype", qt);
		sw_ev_str(&s->ev, "server", dst, sizeof(dst));
		if (a < 0)
			sw_ev_str(&s->ev, "error", "malformed query", 32);
		sw_ev_end(s->log, &s->ev);
		if (a > 0) {
			/* answer from the address that was asked, as resolvers check */
			char ob[CMSG_SPACE(sizeof(struct in6_pktinfo))];
			struct iovec oi = { ans, (size_t)a };
			struct msghdr om = { &from, m.msg_namelen, &oi, 1, ob, 0, 0 };
			memset(ob, 0, sizeof(ob));
			if (have4) {
				pi4.ipi_spec_dst = pi4.ipi_addr;
				pi4.ipi_ifindex = 0;
				om.msg_controllen = put_cmsg(&om, IPPROTO_IP, IP_PKTINFO, &pi4, sizeof(pi4));
			} else if (have6) {
				pi6.ipi6_ifindex = 0;
				om.msg_controllen = put_cmsg(&om, IPPROTO_IPV6, IPV6_PKTINFO, &pi6, sizeof(pi6));
			}
			(void)sendmsg(l->fd, &om, MSG_DONTWAIT);
		}
		return;
	}
	sw_ev_begin(s->log, &s->ev, "udp", 0, 0);
	sw_ev_str(&s->ev, "dst", dst, sizeof(dst));
	if ((host = have4 ? sw_sink_host(s, AF_INET, &pi4.ipi_addr) :
		    have6 ? sw_sink_host(s, AF_INET6, &pi6.ipi6_addr) : NULL))
		sw_ev_str(&s->ev, "name", host, 255);
	sw_ev_int(&s->ev, "port", l->port);
	sw_ev_int(&s->ev, "bytes", n);
	sw_ev_bytes(&s->ev, "first", (const char *)buf, (size_t)n < REC_BYTES ? (size_t)n : REC_BYTES);
	sw_ev_end(s->log, &s->ev);
}

int sw_sink_feed(const uint8_t *p, size_t n, unsigned port, sw_evlog *log)
{
	sw_sink s;
	conn c;
	int sv[2];
	size_t off = 0;
	char drain[4096];

	memset(&s, 0, sizeof(s));
	memset(&c, 0, sizeof(c));
	s.log = log;
	s.wake_fd = -1;
	s.ev.b = (sw_buf)SW_BUF_INIT(64 * 1024);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (!(c.in = malloc(IN_MAX))) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	c.fd = sv[0];
	c.port = port;
	snprintf(c.dst, sizeof(c.dst), "198.18.0.1");
	/* in pieces, as a network delivers them */
	while (off < n && !c.closing && c.inlen < IN_MAX) {
		size_t k = n - off < 700 ? n - off : 700;
		conn_bytes(&s, &c, p + off, k);
		off += k;
		while (read(sv[1], drain, sizeof(drain)) > 0)
			;
	}
	c.eof = true; /* the input ends as the client closes */
	conn_end(&s, &c);
	close(sv[0]);
	close(sv[1]);
	free(c.in);
	sw_tls_ca_free(s.ca);
	free(s.names);
	sw_buf_release(&s.ev.b);
	return 0;
}

size_t sw_sink_fds(sw_sink *s, struct pollfd *p, size_t max)
{
	size_t i, k = 0;

	for (i = 0; i < s->nls && k < max; i++)
		p[k++] = (struct pollfd){ s->ls[i].fd, POLLIN, 0 };
	for (i = 0; i < s->ncs && k < max; i++)
		p[k++] = (struct pollfd){ s->cs[i].fd, POLLIN, 0 };
	return k;
}

void sw_sink_serve(sw_sink *s, const struct pollfd *p, size_t n)
{
	uint64_t now = sw_sbx_now();
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		for (j = 0; j < s->nls; j++) {
			if (s->ls[j].fd != p[i].fd)
				continue;
			if (s->ls[j].type == SOCK_STREAM)
				accept_one(s, s->ls[j].fd, s->ls[j].port);
			else
				udp_one(s, &s->ls[j]);
		}
		for (j = 0; j < s->ncs; j++) {
			conn *c = &s->cs[j];
			ssize_t r;
			if (c->fd != p[i].fd)
				continue;
			if (c->ssl) { /* TLS records, for the session to open */
				uint8_t buf[16384];
				if ((r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
					c->last = now;
					conn_bytes(s, c, buf, (size_t)r);
				}
			} else if ((r = recv(c->fd, c->in + c->inlen, IN_MAX - c->inlen, MSG_DONTWAIT)) > 0) {
				c->inlen += (size_t)r;
				c->total_in += (size_t)r;
				c->last = now;
				conn_input(s, c);
			}
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				c->closing = c->eof = true;
		}
	}
	for (j = 0; j < s->ncs;) {
		if (s->cs[j].closing || s->cs[j].last + IDLE_NS < now || s->cs[j].inlen >= IN_MAX)
			conn_close(s, j);
		else
			j++;
	}
}

void sw_sink_close(sw_sink *s)
{
	struct pollfd pf[SW_SINK_MAX_FDS];
	size_t i, n;
	int round;
	uint64_t until;

	if (!s)
		return;
	/* what was sent just before the run ended (a line then exit) is still
	 * in the sockets, and connections may wait in a backlog: read them
	 * first, a bounded number of rounds within DRAIN_NS, never waiting (a
	 * round may open TLS on every session: the rounds alone do not bound
	 * the time) */
	until = sw_sbx_now() + DRAIN_NS;
	for (round = 0; round < 64 && sw_sbx_now() < until; round++) {
		n = sw_sink_fds(s, pf, SW_SINK_MAX_FDS);
		if (n == 0 || poll(pf, n, 0) <= 0)
			break;
		sw_sink_serve(s, pf, n);
	}
	while (s->ncs)
		conn_close(s, s->ncs - 1);
	if (s->refused || s->evicted) {
		sw_ev_begin(s->log, &s->ev, "sink-refused", 0, 0);
		sw_ev_int(&s->ev, "connections", (int64_t)s->refused);
		sw_ev_int(&s->ev, "evicted", (int64_t)s->evicted);
		sw_ev_end(s->log, &s->ev);
	}
	if (s->names_over) {
		sw_ev_begin(s->log, &s->ev, "sink-names", 0, 0);
		sw_ev_int(&s->ev, "names", (int64_t)s->nnames);
		sw_ev_int(&s->ev, "over", (int64_t)s->names_over);
		sw_ev_end(s->log, &s->ev);
	}
	for (i = 0; i < s->nls; i++)
		close(s->ls[i].fd);
	sw_tls_ca_free(s->ca);
	free(s->names);
	sw_buf_release(&s->ev.b);
	free(s);
}
