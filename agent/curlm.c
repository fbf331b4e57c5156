/*
 * curlm.c - a libcurl multi handle driven from the agent's one epoll
 * loop, for every module that runs transfers (probe_http.c, probe_grpc.c,
 * alert.c), and the two things every curl probe reads from a transfer:
 * its phase timings and the peer certificate's days.
 *
 * curl's multi socket interface needs the same glue wherever it is used:
 * it says which descriptors to watch (curlm_sock_cb) and when to wake it
 * (curlm_timer_cb), we hand readiness back with curl_multi_socket_action()
 * and read finished transfers from curl_multi_info_read().  Kept once
 * here so a fix to it reaches every user; each user keeps a multi of its
 * own and gets its finished easy handles through its done callback.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "vantaged.h"

struct curlm {
	CURLM			*multi;
	struct loop_timer	*timer;
	curlm_done_cb		 done;
	void			*arg;
};

/* Hands every transfer curl has finished to the owner. */
static void
curlm_drain(struct curlm *cm)
{
	CURLMsg	*m;
	int	 left;

	while ((m = curl_multi_info_read(cm->multi, &left)) != NULL) {
		if (m->msg == CURLMSG_DONE)
			cm->done(m->easy_handle, m->data.result, cm->arg);
	}
}

static void
curlm_timer_fire(void *arg)
{
	struct curlm	*cm = arg;
	int		 running;

	cm->timer = NULL;
	curl_multi_socket_action(cm->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlm_drain(cm);
}

/* CURLMOPT_TIMERFUNCTION: curl wants one wake-up, replacing the last. */
static int
curlm_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct curlm	*cm = arg;

	if (cm->timer != NULL) {
		loop_timer_del(cm->timer);
		cm->timer = NULL;
	}
	/* Never call curl from here: a 0 timeout fires on the next turn. */
	if (timeout_ms >= 0)
		cm->timer = loop_timer_add((int64_t)timeout_ms * 1000,
		    curlm_timer_fire, cm);
	return 0;
}

static void
curlm_fd_event(int fd, uint32_t events, void *arg)
{
	struct curlm	*cm = arg;
	int		 mask = 0, running;

	if (events & (EPOLLIN | EPOLLHUP))
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & EPOLLERR)
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(cm->multi, fd, mask, &running);
	curlm_drain(cm);
}

/* CURLMOPT_SOCKETFUNCTION: mirrors curl's interest in fd into epoll. */
static int
curlm_sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg,
    void *sockp)
{
	struct curlm	*cm = arg;
	uint32_t	 ev = 0;

	if (what == CURL_POLL_REMOVE) {
		if (sockp != NULL)
			loop_fd_del(fd);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (sockp == NULL) {
		if (loop_fd_add(fd, ev, curlm_fd_event, cm) == -1) {
			log_warn("%s: loop_fd_add %d", __func__, fd);
			return -1;
		}
		/* Any non-NULL marker: "this fd is in the loop". */
		curl_multi_assign(cm->multi, fd, cm);
	} else if (loop_fd_mod(fd, ev) == -1) {
		log_warn("%s: loop_fd_mod %d", __func__, fd);
		return -1;
	}
	return 0;
}

struct curlm *
curlm_new(curlm_done_cb done, void *arg, char *err, size_t errlen)
{
	struct curlm	*cm = xcalloc(1, sizeof(*cm));

	cm->done = done;
	cm->arg = arg;
	if ((cm->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "curl_multi_init failed");
		goto fail;
	}
	if (curl_multi_setopt(cm->multi, CURLMOPT_SOCKETFUNCTION,
	    curlm_sock_cb) != CURLM_OK ||
	    curl_multi_setopt(cm->multi, CURLMOPT_SOCKETDATA, cm) !=
	    CURLM_OK ||
	    curl_multi_setopt(cm->multi, CURLMOPT_TIMERFUNCTION,
	    curlm_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(cm->multi, CURLMOPT_TIMERDATA, cm) != CURLM_OK) {
		snprintf(err, errlen, "curl_multi_setopt failed");
		goto fail;
	}
	return cm;
fail:
	curlm_free(cm);
	return NULL;
}

int
curlm_add(struct curlm *cm, CURL *easy, char *err, size_t errlen)
{
	CURLMcode	mc;

	if ((mc = curl_multi_add_handle(cm->multi, easy)) != CURLM_OK) {
		snprintf(err, errlen, "%s", curl_multi_strerror(mc));
		return -1;
	}
	return 0;
}

void
curlm_remove(struct curlm *cm, CURL *easy)
{
	curl_multi_remove_handle(cm->multi, easy);
}

/* The owner has removed its transfers first. */
void
curlm_free(struct curlm *cm)
{
	if (cm == NULL)
		return;
	if (cm->multi != NULL)
		curl_multi_cleanup(cm->multi);
	/* After the cleanup, which may still move the timer. */
	if (cm->timer != NULL)
		loop_timer_del(cm->timer);
	free(cm);
}

/* Phase durations from curl's cumulative timestamps (-1: not reached). */
void
curlm_timings(CURL *e, struct probe_result *r)
{
	curl_off_t	nl = 0, ct = 0, ac = 0, st = 0, tot = 0, base;

	(void)curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &nl);
	(void)curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &ct);
	(void)curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &ac);
	(void)curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &st);
	(void)curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &tot);
	if (ct > 0) {
		r->dns_us = nl;
		r->connect_us = ct - nl;
	} else if (nl > 0)
		r->dns_us = nl;
	if (ac > 0 && ct > 0)
		r->tls_us = ac - ct;
	base = ac > ct ? ac : ct;
	if (st > 0 && base > 0)
		r->ttfb_us = st - base;
	if (tot > 0)
		r->latency_us = tot;
}

/* Whole days from now to t, rounded down (an expired cert is < 0). */
static int
curlm_days_left(const ASN1_TIME *t, int *days)
{
	int	day, sec;
	int64_t	total;

	if (ASN1_TIME_diff(&day, &sec, NULL, t) != 1)
		return -1;
	total = (int64_t)day * 86400 + sec;
	if (total < 0)
		*days = (int)((total - 86399) / 86400);
	else
		*days = (int)(total / 86400);
	return 0;
}

/*
 * For CURLOPT_PREREQFUNCTION callbacks: the connection (and TLS) is up,
 * the request not yet sent.  The peer certificate is read here because
 * with FORBID_REUSE the connection, and the SSL object with it, is gone
 * once the transfer completes.  An unverified certificate still gets
 * here and its expiry is reported all the same.
 */
void
curlm_peer_cert(CURL *e, struct probe_result *r)
{
	const struct curl_tlssessioninfo *ti = NULL;
	X509				*cert;

	if (curl_easy_getinfo(e, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK ||
	    ti == NULL || ti->backend != CURLSSLBACKEND_OPENSSL ||
	    ti->internals == NULL)
		return;
	if ((cert = SSL_get1_peer_certificate(ti->internals)) == NULL)
		return;
	if (curlm_days_left(X509_get0_notAfter(cert), &r->cert_days) == 0)
		r->has_cert = 1;
	X509_free(cert);
}
