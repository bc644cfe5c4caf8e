/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the sandbox run's story (src/lib/report/story.c), from a
 * timeline written here: the noise classes the tracer does not produce yet
 * (libraries, locale, /proc/self) as well as .pyc writes, an event that
 * raised a finding never collapsed, the chain through three processes to
 * a memfd, findings put on processes by pid, by the file they ran and by
 * the address they reached, contacts by the name asked for, and a parent
 * loop in what the events said.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/report/report_int.h"
#include "../../src/lib/util/banned.h"

static const char *const timeline[] = {
	"{\"t\":0.01,\"kind\":\"exec\",\"pid\":2,\"ppid\":1,\"path\":\"/usr/bin/dash\",\"argv\":[\"sh\",\"-c\",\"x\"]}",
	"{\"t\":0.02,\"kind\":\"exec\",\"pid\":3,\"ppid\":2,\"path\":\"/usr/bin/python3.11\",\"argv\":[\"python3\",\"dao.py\"]}",
	"{\"t\":0.03,\"kind\":\"file-read\",\"pid\":3,\"path\":\"/usr/lib/x86_64-linux-gnu/libc.so.6\"}",
	"{\"t\":0.03,\"kind\":\"file-read\",\"pid\":3,\"path\":\"/etc/ld.so.cache\"}",
	"{\"t\":0.04,\"kind\":\"file-read\",\"pid\":3,\"path\":\"/usr/share/zoneinfo/UTC\"}",
	"{\"t\":0.04,\"kind\":\"file-read\",\"pid\":3,\"path\":\"/usr/lib/x86_64-linux-gnu/gconv/gconv-modules\"}",
	"{\"t\":0.05,\"kind\":\"file-read\",\"pid\":3,\"path\":\"/proc/self/maps\"}",
	"{\"t\":0.05,\"kind\":\"file-write\",\"pid\":3,\"path\":\"/app/__pycache__/dao.cpython-311.pyc\"}",
	"{\"t\":0.06,\"kind\":\"file-write\",\"pid\":3,\"path\":\"/etc/ld.so.preload.so\",\"persistence\":\"preload\"}",
	"{\"t\":0.06,\"kind\":\"file-write\",\"pid\":3,\"path\":\"/opt/x.so\"}",
	"{\"t\":0.07,\"kind\":\"exec\",\"pid\":4,\"ppid\":3,\"path\":\"/memfd:x (deleted)\",\"argv\":[\"x\"],\"memfd\":1}",
	"{\"t\":0.08,\"kind\":\"dns\",\"name\":\"pool.example\"}",
	"{\"t\":0.08,\"kind\":\"connect\",\"pid\":4,\"ppid\":3,\"proto\":\"tcp\",\"dst\":\"198.18.0.2\",\"port\":3333}",
	"{\"t\":0.09,\"kind\":\"stratum\",\"dst\":\"198.18.0.2\",\"name\":\"pool.example\",\"port\":3333,"
	"\"method\":\"login\",\"login\":\"W\",\"pass\":\"rig\"}",
	"{\"t\":0.10,\"kind\":\"tls\",\"dst\":\"198.18.0.3\",\"port\":443,\"sni\":\"a.example\",\"tls\":\"intercepted\"}",
	"{\"t\":0.11,\"kind\":\"connect\",\"pid\":4,\"proto\":\"tcp\",\"dst\":\"198.18.0.3\",\"port\":443}",
	"{\"t\":0.12,\"kind\":\"http\",\"dst\":\"198.18.0.4\",\"port\":80,\"request\":\"GET /p HTTP/1.1\","
	"\"host\":\"dl.example:8080\"}",
	"{\"t\":0.20,\"kind\":\"process\",\"pid\":5,\"ppid\":6,\"comm\":\"a\"}",
	"{\"t\":0.20,\"kind\":\"process\",\"pid\":6,\"ppid\":5,\"comm\":\"b\",\"cpu_ms\":5000}",
};

static void finding(sw_report *r, const char *id, const char *path, const char *evidence)
{
	sw_finding f;

	memset(&f, 0, sizeof(f));
	f.id = id;
	f.severity = SW_SEV_HIGH;
	f.category = "miner";
	f.title = id;
	f.detector = "sandbox";
	f.path = path;
	f.layer = -1;
	f.evidence = evidence;
	assert_int_equal(sw_report__add(r, &f), 0);
}

static sw_report *run(void)
{
	sw_report *r = NULL;
	size_t i;

	assert_int_equal(sw_report__new_bare(&r, "oci:x", NULL, NULL), 0);
	for (i = 0; i < sizeof(timeline) / sizeof(timeline[0]); i++)
		assert_int_equal(sw_report__add_event(r, timeline[i], "line"), 0);
	finding(r, "SW-DYN-MINER-RUN", "/memfd:x (deleted)", "{}");
	finding(r, "SW-DYN-STRATUM-LOGIN", NULL, "{\"dst\":\"198.18.0.2\",\"port\":3333}");
	finding(r, "SW-DYN-WROTE", "/opt/x.so", "{\"pid\":3}");
	finding(r, "SW-DYN-SCANNING", NULL, "{\"destinations\":40}");
	finding(r, "SW-DYN-CPU-BURN", NULL, "{}");
	return r;
}

/* The story's JSON, parsed. */
static sw_json_doc *story_of(sw_report *r, sw_story **st)
{
	sw_buf b = SW_BUF_INIT(1 << 20);
	sw_jw w = SW_JW_INIT(&b);
	sw_json_doc *d = NULL;

	assert_int_equal(sw_story__new(r, st), 0);
	sw_story__json(*st, &w);
	assert_int_equal(sw_jw_done(&w), 0);
	assert_int_equal(sw_json_parse(b.data, b.len, &d, NULL), 0);
	sw_buf_release(&b);
	return d;
}

static const sw_json *nth(const sw_json *arr, size_t n)
{
	const sw_json *c = arr ? arr->child : NULL;

	while (c && n--)
		c = c->next;
	assert_non_null(c);
	return c;
}

static int64_t num(const sw_json *o, const char *k)
{
	int64_t v = -1;

	assert_int_equal(sw_json_get_i64(o, k, &v), 0);
	return v;
}

static void done(sw_json_doc *d, sw_story *st, sw_report *r)
{
	sw_json_free(d);
	sw_story__free(st);
	sw_report_free(r);
}

static void noise_collapsed_by_class(void **state)
{
	sw_report *r = run();
	sw_story *st = NULL;
	sw_json_doc *d = story_of(r, &st);
	const sw_json *noise = sw_json_get_arr(sw_json_root(d), "noise");
	static const char *const want[] = { "python-bytecode", "shared-libraries", "locale", "proc-self" };
	static const int64_t count[] = { 1, 2, 2, 1 };
	size_t i;

	(void)state;
	assert_int_equal(noise->n, 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(sw_json_get_str(nth(noise, i), "class"), want[i]);
		assert_int_equal(num(nth(noise, i), "count"), count[i]);
	}
	/* the persistence write and the .so a finding names stay listed */
	assert_int_equal(num(sw_json_root(d), "noise_kept"), 2);
	for (i = 0; i < r->nevents; i++)
		assert_int_equal(sw_story__hidden(st, i), (i >= 2 && i <= 7));
	done(d, st, r);
}

static void chain_to_the_memfd(void **state)
{
	sw_report *r = run();
	sw_story *st = NULL;
	sw_json_doc *d = story_of(r, &st);
	const sw_json *root = sw_json_root(d), *chains = sw_json_get_arr(root, "chains"), *c;
	const sw_json *run_f = sw_json_get_arr(root, "run_findings");
	bool memfd = false, wrote = false, burn = false;

	(void)state;
	for (c = chains->child; c; c = c->next) {
		if (num(c, "pid") == 4) {
			memfd = true;
			assert_string_equal(sw_json_get_str(c, "text"),
					    "sh -c x (/usr/bin/dash) -> python3 dao.py (/usr/bin/python3.11) -> "
					    "x (/memfd:x (deleted)) -> [SW-DYN-MINER-RUN, SW-DYN-STRATUM-LOGIN]");
			assert_int_equal(sw_json_get_arr(c, "pids")->n, 3);
		} else if (num(c, "pid") == 3) {
			wrote = true;
			assert_string_equal(sw_json_get_str(c, "text"),
					    "sh -c x (/usr/bin/dash) -> python3 dao.py (/usr/bin/python3.11) -> "
					    "[SW-DYN-WROTE]");
		} else if (num(c, "pid") == 6) {
			burn = true; /* the busiest process; its parent loop ends */
			assert_string_equal(sw_json_get_str(c, "text"), "pid 6 -> [SW-DYN-CPU-BURN]");
		}
	}
	assert_true(memfd && wrote && burn);
	assert_int_equal(run_f->n, 1);
	assert_string_equal(nth(run_f, 0)->s, "SW-DYN-SCANNING");
	done(d, st, r);
}

static void contacts_by_name(void **state)
{
	sw_report *r = run();
	sw_story *st = NULL;
	sw_json_doc *d = story_of(r, &st);
	const sw_json *cs = sw_json_get_arr(sw_json_root(d), "contacts"), *pool, *tls, *http;
	sw_buf t = SW_BUF_INIT(1 << 20);

	(void)state;
	assert_int_equal(cs->n, 3);
	pool = nth(cs, 0);
	assert_string_equal(sw_json_get_str(pool, "host"), "pool.example");
	assert_string_equal(sw_json_get_str(pool, "address"), "198.18.0.2");
	assert_int_equal(num(pool, "connects"), 1);
	assert_int_equal(num(pool, "events"), 2);
	assert_string_equal(sw_json_get_str(nth(sw_json_get_arr(pool, "said"), 0), "text"),
			    "stratum login: login W pass rig");
	tls = nth(cs, 1);
	assert_string_equal(sw_json_get_str(tls, "host"), "a.example");
	assert_string_equal(sw_json_get_str(tls, "host_from"), "event");
	assert_int_equal(num(tls, "events"), 2); /* the connect named by the address's one name */
	assert_string_equal(sw_json_get_str(nth(sw_json_get_arr(tls, "said"), 0), "text"),
			    "TLS SNI a.example, intercepted");
	http = nth(cs, 2);
	assert_string_equal(sw_json_get_str(http, "host"), "dl.example");
	assert_int_equal(num(http, "port"), 80);
	sw_story__table(st, &t, "", "");
	assert_non_null(strstr(sw_buf_cstr(&t), "tcp pool.example:3333 (198.18.0.2)"));
	assert_non_null(strstr(sw_buf_cstr(&t), "  pid 4: sh -c x (/usr/bin/dash) -> python3 dao.py"));
	assert_non_null(strstr(sw_buf_cstr(&t), "  shared-libraries      2 events:"));
	sw_buf_release(&t);
	done(d, st, r);
}

/* What the events say beyond the story's bounds is counted, not kept: a
 * sandboxed program writes the events and can make any number of them. */
static void bounds(void **state)
{
	sw_report *r = NULL;
	sw_story *st = NULL;
	sw_json_doc *d;
	const sw_json *ps, *cs;
	char ev[256];
	int i;

	(void)state;
	assert_int_equal(sw_report__new_bare(&r, "oci:x", NULL, NULL), 0);
	for (i = 0; i < 1100; i++) { /* 1024 processes kept */
		snprintf(ev, sizeof(ev), "{\"t\":0.1,\"kind\":\"process\",\"pid\":%d,\"ppid\":1,\"comm\":\"p\"}", 100 + i);
		assert_int_equal(sw_report__add_event(r, ev, "line"), 0);
	}
	for (i = 0; i < 20; i++) { /* 8 programs kept per process */
		snprintf(ev, sizeof(ev), "{\"t\":0.2,\"kind\":\"exec\",\"pid\":100,\"path\":\"/bin/x%d\",\"argv\":[\"x\"]}", i);
		assert_int_equal(sw_report__add_event(r, ev, "line"), 0);
	}
	for (i = 0; i < 300; i++) { /* 256 contacts kept */
		snprintf(ev, sizeof(ev), "{\"t\":0.3,\"kind\":\"connect\",\"proto\":\"tcp\",\"dst\":\"198.18.0.9\",\"port\":%d}",
			 1000 + i);
		assert_int_equal(sw_report__add_event(r, ev, "line"), 0);
	}
	d = story_of(r, &st);
	ps = sw_json_get_arr(sw_json_root(d), "processes");
	cs = sw_json_get_arr(sw_json_root(d), "contacts");
	assert_non_null(ps);
	assert_non_null(cs);
	assert_int_equal(ps->n, 1024);
	assert_int_equal(num(sw_json_root(d), "processes_more"), 76);
	assert_int_equal(num(nth(ps, 0), "pid"), 100);
	assert_int_equal(sw_json_get_arr(nth(ps, 0), "ran")->n, 8);
	assert_int_equal(num(nth(ps, 0), "ran_more"), 12);
	assert_int_equal(cs->n, 256);
	assert_int_equal(num(sw_json_root(d), "contacts_more"), 44);
	done(d, st, r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(noise_collapsed_by_class),
		cmocka_unit_test(chain_to_the_memfd),
		cmocka_unit_test(contacts_by_name),
		cmocka_unit_test(bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
