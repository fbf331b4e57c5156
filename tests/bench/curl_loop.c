/*
 * curl_loop.c - the baseline for bench_http.sh: a bare libcurl multi
 * socket loop on epoll that starts N fetches of URL at RATE per second,
 * each on a fresh connection with the options probe_http.c uses, and
 * prints the CPU it spent per fetch (getrusage).  What vantaged spends
 * per HTTP probe is compared with this figure.
 *
 *   curl_loop URL N RATE [insecure] [-H 'Name: value']... [-j KEY VALUE]
 *
 * -H sends a header with every fetch (repeatable).  -j (a build with
 * -DCURL_LOOP_CJSON, linked with libcjson) keeps the body, parses it with
 * cJSON and counts a fetch ok only when the top-level member KEY is the
 * string VALUE: what an http probe with headers and expect_json does.
 *
 * Prints one line:
 *   fetches=N ok=N failed=N late=N wall_s=S cpu_us_per_fetch=X
 *   [first_error=...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>
#ifdef CURL_LOOP_CJSON
#include <cJSON.h>
#endif

static CURLM	*multi;
static int	 epfd;
static long	 curl_timeout_ms = -1;	/* -1: no curl timer */
static int64_t	 curl_deadline_us;
static long	 n_ok, n_failed, n_done;
static char	 first_error[CURL_ERROR_SIZE + 32];
static struct curl_slist *headers;
static const char *json_key, *json_value;

/* One fetch's body, kept only for -j. */
struct body {
	char	*data;
	size_t	 len, cap;
};

static int64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
sock_cb(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.data.fd = fd;
	if (what == CURL_POLL_REMOVE) {
		if (sockp != NULL)
			epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (sockp == NULL) {
		epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
		curl_multi_assign(multi, fd, &multi);
	} else
		epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
	return 0;
}

static int
timer_cb(CURLM *m, long ms, void *arg)
{
	curl_timeout_ms = ms;
	if (ms >= 0)
		curl_deadline_us = now_us() + ms * 1000;
	return 0;
}

static size_t
write_cb(char *d, size_t sz, size_t n, void *arg)
{
	struct body	*b = arg;
	size_t		 len = sz * n;

	if (b != NULL && b->len + len <= 1024 * 1024) {
		if (b->len + len + 1 > b->cap) {
			b->cap = (b->len + len + 1) * 2;
			if ((b->data = realloc(b->data, b->cap)) == NULL)
				abort();
		}
		memcpy(b->data + b->len, d, len);
		b->len += len;
		b->data[b->len] = '\0';
	}
	return len;
}

/* -j: the body's top-level KEY is the string VALUE. */
static int
json_ok(const struct body *b)
{
#ifdef CURL_LOOP_CJSON
	cJSON	*doc, *it;
	int	 ok;

	if (b == NULL || b->data == NULL ||
	    (doc = cJSON_ParseWithLength(b->data, b->len)) == NULL)
		return 0;
	it = cJSON_GetObjectItemCaseSensitive(doc, json_key);
	ok = cJSON_IsString(it) && strcmp(it->valuestring, json_value) == 0;
	cJSON_Delete(doc);
	return ok;
#else
	(void)b;
	return 0;
#endif
}

static void
drain(void)
{
	CURLMsg	*m;
	int	 left;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		CURL		*e = m->easy_handle;
		struct body	*b = NULL;
		long		 code = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &b);
		if (m->data.result == CURLE_OK && code == 200 &&
		    (json_key == NULL || json_ok(b)))
			n_ok++;
		else {
			if (n_failed++ == 0)
				snprintf(first_error, sizeof(first_error),
				    "%s (HTTP %ld)", curl_easy_strerror(
				    m->data.result), code);
		}
		n_done++;
		curl_multi_remove_handle(multi, e);
		curl_easy_cleanup(e);
		if (b != NULL) {
			free(b->data);
			free(b);
		}
	}
}

static void
start(const char *url, int insecure)
{
	CURL	*e = curl_easy_init();

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	if (headers != NULL)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	if (json_key != NULL) {
		struct body *b = calloc(1, sizeof(*b));

		if (b == NULL)
			abort();
		curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
		curl_easy_setopt(e, CURLOPT_PRIVATE, b);
	} else
		curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
	if (insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_multi_add_handle(multi, e);
}

int
main(int argc, char **argv)
{
	struct epoll_event	evs[256];
	struct rusage		ru;
	const char		*url;
	long			n, rate, started = 0, late = 0;
	int64_t			t0, next, now, wait_us;
	int			insecure, running, i, k, timeout;
	double			cpu_us;

	if (argc < 4) {
		fprintf(stderr, "usage: curl_loop URL N RATE [insecure] "
		    "[-H 'Name: value']... [-j KEY VALUE]\n");
		return 2;
	}
	url = argv[1];
	n = atol(argv[2]);
	rate = atol(argv[3]);
	insecure = 0;
	for (i = 4; i < argc; i++) {
		if (strcmp(argv[i], "insecure") == 0)
			insecure = 1;
		else if (strcmp(argv[i], "-H") == 0 && i + 1 < argc)
			headers = curl_slist_append(headers, argv[++i]);
		else if (strcmp(argv[i], "-j") == 0 && i + 2 < argc) {
#ifndef CURL_LOOP_CJSON
			fprintf(stderr, "curl_loop: -j needs a build with "
			    "-DCURL_LOOP_CJSON\n");
			return 2;
#endif
			json_key = argv[++i];
			json_value = argv[++i];
		} else {
			fprintf(stderr, "curl_loop: unknown argument '%s'\n",
			    argv[i]);
			return 2;
		}
	}
	if (n <= 0 || rate <= 0)
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	multi = curl_multi_init();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);

	t0 = next = now_us();
	while (n_done < n) {
		now = now_us();
		/* Start every fetch that is due: a fixed rate, like probes. */
		while (started < n && next <= now) {
			if (now - next > 1000000 / rate / 10 + 1000)
				late++;
			start(url, insecure);
			started++;
			next = t0 + started * 1000000 / rate;
		}
		wait_us = started < n ? next - now : 1000000;
		if (curl_timeout_ms >= 0 && curl_deadline_us - now < wait_us)
			wait_us = curl_deadline_us - now;
		timeout = wait_us <= 0 ? 0 : (int)((wait_us + 999) / 1000);
		k = epoll_wait(epfd, evs, 256, timeout);
		for (i = 0; i < k; i++) {
			int mask = 0;

			if (evs[i].events & (EPOLLIN | EPOLLHUP))
				mask |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				mask |= CURL_CSELECT_OUT;
			if (evs[i].events & EPOLLERR)
				mask |= CURL_CSELECT_ERR;
			curl_multi_socket_action(multi, evs[i].data.fd, mask,
			    &running);
		}
		if (curl_timeout_ms >= 0 && now_us() >= curl_deadline_us) {
			curl_timeout_ms = -1;
			curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0,
			    &running);
		}
		drain();
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu_us = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
	    ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
	printf("fetches=%ld ok=%ld failed=%ld late=%ld wall_s=%.2f "
	    "cpu_us_per_fetch=%.1f%s%s\n", n_done, n_ok, n_failed, late,
	    (now_us() - t0) / 1e6, cpu_us / (double)n_done,
	    n_failed ? " first_error=" : "", first_error);
	curl_multi_cleanup(multi);
	curl_slist_free_all(headers);
	curl_global_cleanup();
	return n_failed > 0 ? 1 : 0;
}
