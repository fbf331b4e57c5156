/*
 * probe_http.c - HTTP and HTTPS probes through libcurl's multi socket
 * interface, driven from the agent's one epoll loop by curlm.c, which
 * hands every finished transfer to http_done().  No threads of our own;
 * curl's threaded resolver keeps name lookups off the loop.
 *
 * Each probe opens a fresh connection, without TLS session resumption or
 * a cached DNS answer, so the phase timings it records (DNS, connect,
 * TLS, first byte) describe what a new client would see.  The engine
 * owns the timeout; curl's own timeout is only a safety net behind it.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "text.h"
#include "vantaged.h"

#define HTTP_BODY_KEEP		(1024 * 1024)	/* kept for the expect_* */
#define HTTP_BODY_FILE_MAX	(64 * 1024)	/* body_file's limit */
#define HTTP_AUTH_FILE_MAX	4096
#define HTTP_REDIRECTS_MAX	50
#define HTTP_POOL_MAX		64		/* idle easy handles kept */
#define HTTP_TIMEOUT_MARGIN_MS	1000		/* curl's net behind ours */
#define HTTP_USER_AGENT		"vantaged/" VANTAGE_VERSION
#define HTTP_SECRETS		3	/* forms of the credential redacted */

struct http_run {
	struct probe_run	*run;
	CURL			*easy;
	struct buf		 body;		/* first HTTP_BODY_KEEP bytes */
	int			 keep_body;
	int			 body_cut;	/* more came than was kept */
	char			 errbuf[CURL_ERROR_SIZE];
};

/* One expect_header line, compiled. */
struct http_hexp {
	char		*name;
	char		*spec;		/* "Name: REGEX" as written */
	regex_t		 re;
	int		 re_ok;		/* 0: the header only has to exist */
};

/* The options of one http probe, described by http_keys[]. */
struct http_opts {
	struct parse_range	 expect_status;
	char			*expect_body;		/* substring */
	char			*expect_body_regex;
	char			*expect_body_not;	/* substring */
	char			**expect_header;
	char			**expect_json;
	char			*method;		/* GET unless set */
	char			**header;
	char			*body;
	char			*body_file;
	char			*auth_file;
	int			 follow_redirects;
	char			*http_version;
	char			*ip_family;
	char			**resolve;
	char			*proxy;
	char			*client_cert;
	char			*client_key;
	int			 tls_insecure;
	int			 tls_verify;
	char			*ca;
	int			 cert_min_days;

	/* compiled by http_check(), freed by http_free_opts() */
	regex_t			 body_re;
	int			 body_re_ok;
	const char		*req_method;	/* NULL: curl's (GET/POST) */
	int			 head;
	char			*body_data;	/* body or body_file's bytes */
	size_t			 body_len;
	struct curl_slist	*hdrs;		/* header + Authorization */
	struct curl_slist	*connect_to;	/* from resolve */
	char			*secrets[HTTP_SECRETS];
	struct http_hexp	*hexp;
	size_t			 nhexp;
	struct expect_json	**json;
	size_t			 njson;
	long			 httpver;	/* CURL_HTTP_VERSION_* or -1 */
	long			 ipresolve;
};

static const struct probe_key http_keys[] = {
	{ "expect_status", CONF_RANGE, offsetof(struct http_opts,
	    expect_status), "200-399", "status codes that pass" },
	{ "expect_body", CONF_STR, offsetof(struct http_opts, expect_body),
	    NULL, "text the body must contain" },
	{ "expect_body_regex", CONF_REGEX, offsetof(struct http_opts,
	    expect_body_regex), NULL, "regex the body must match" },
	{ "expect_body_not", CONF_STR, offsetof(struct http_opts,
	    expect_body_not), NULL, "text the body must not contain" },
	{ "expect_header", CONF_LIST, offsetof(struct http_opts,
	    expect_header), NULL, "Name: REGEX a response header must match" },
	{ "expect_json", CONF_LIST, offsetof(struct http_opts, expect_json),
	    NULL, "PATH OP VALUE the JSON body must satisfy" },
	{ "method", CONF_STR, offsetof(struct http_opts, method), NULL,
	    "request method (GET, HEAD, POST, PUT, ...)" },
	{ "header", CONF_LIST, offsetof(struct http_opts, header), NULL,
	    "Name: value sent with the request" },
	{ "body", CONF_STR, offsetof(struct http_opts, body), NULL,
	    "request body" },
	{ "body_file", CONF_PATH, offsetof(struct http_opts, body_file), NULL,
	    "file holding the request body" },
	{ "auth_file", CONF_SECRET, offsetof(struct http_opts, auth_file),
	    NULL, "file holding 'Basic user:password' or 'Bearer TOKEN'" },
	{ "follow_redirects", CONF_INT, offsetof(struct http_opts,
	    follow_redirects), "0", "redirects followed at most" },
	{ "http_version", CONF_STR, offsetof(struct http_opts, http_version),
	    NULL, "1.1, 2 (over TLS) or h2c" },
	{ "ip_family", CONF_STR, offsetof(struct http_opts, ip_family), "any",
	    "any, 4 or 6" },
	{ "resolve", CONF_LIST, offsetof(struct http_opts, resolve), NULL,
	    "HOST:PORT:ADDR connects there instead of looking HOST up" },
	{ "proxy", CONF_STR, offsetof(struct http_opts, proxy), NULL,
	    "proxy URL" },
	{ "client_cert", CONF_PATH, offsetof(struct http_opts, client_cert),
	    NULL, "client certificate (PEM)" },
	{ "client_key", CONF_SECRET, offsetof(struct http_opts, client_key),
	    NULL, "the client certificate's private key (PEM)" },
	{ "tls_insecure", CONF_BOOL, offsetof(struct http_opts, tls_insecure),
	    "no", "no certificate or host name verification at all" },
	PROBE_KEYS_CERT(struct http_opts),
	{ NULL }
};

static struct curlm		*http_cm;
static CURL			*http_pool[HTTP_POOL_MAX];
static int			 http_npool;
static int			 http_global;	/* curl_global_init done */

/*
 * What http_check() read from files: the body and the headers (the
 * Authorization line among them).  Equal keys with another content is
 * another probe: a reload after rotating auth_file must take the new one.
 */
static int
http_same_loaded(const void *va, const void *vb)
{
	const struct http_opts	*a = va, *b = vb;
	const struct curl_slist	*x, *y;

	if (a->body_len != b->body_len || (a->body_data == NULL) !=
	    (b->body_data == NULL) || (a->body_data != NULL &&
	    memcmp(a->body_data, b->body_data, a->body_len) != 0))
		return 0;
	for (x = a->hdrs, y = b->hdrs; x != NULL && y != NULL;
	    x = x->next, y = y->next) {
		if (strcmp(x->data, y->data) != 0)
			return 0;
	}
	return x == NULL && y == NULL;
}

/* RFC 9110 token characters (methods, header names). */
static int
http_token(const char *s, size_t n)
{
	size_t	i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) !=
		    NULL) || c == '\0')
			return 0;
	}
	return 1;
}

/* "Name: rest": the name's length and rest, or -1. */
static int
http_split_header(const char *line, size_t *nlen, const char **rest)
{
	const char	*c = strchr(line, ':');

	if (c == NULL || !http_token(line, (size_t)(c - line)))
		return -1;
	*nlen = (size_t)(c - line);
	for (c++; *c == ' ' || *c == '\t'; c++)
		;
	*rest = c;
	return 0;
}

/*
 * Reads a small file whole: a secret (mode checked on the open file,
 * so what is checked is what is read) or a body.  -1 + err naming the
 * key and the path, never the content.
 */
static int
http_read_file(const char *key, const char *path, int secret, size_t max,
    char **out, size_t *outlen, char *err, size_t errlen)
{
	struct stat	 sb;
	char		*data;
	ssize_t		 r;
	size_t		 n = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "%s %s: %s", key, path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s %s is not a file", key, path);
		goto fail;
	}
	/* A secret others can read is no longer a secret. */
	if (secret && (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "%s %s is accessible by others (mode "
		    "%03o; chmod 600 it)", key, path,
		    (unsigned)(sb.st_mode & 0777));
		goto fail;
	}
	if ((uint64_t)sb.st_size > max) {
		snprintf(err, errlen, "%s %s is %lld bytes, more than the "
		    "limit of %zu", key, path, (long long)sb.st_size, max);
		goto fail;
	}
	data = xmalloc(max + 1);
	while (n < max && (r = read(fd, data + n, max - n)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s %s: %s", key, path,
			    strerror(errno));
			explicit_bzero(data, max + 1);
			free(data);
			goto fail;
		}
		n += (size_t)r;
	}
	data[n] = '\0';
	close(fd);
	*out = data;
	*outlen = n;
	return 0;
fail:
	close(fd);
	return -1;
}

/*
 * auth_file: one line "Basic user:password" (encoded here), "Basic
 * BASE64" or "Bearer TOKEN" becomes the Authorization header.  The
 * credential's forms are kept to blank them out of error text.
 */
static int
http_load_auth(struct http_opts *o, char *err, size_t errlen)
{
	char		*data = NULL, *v, *hdr = NULL;
	size_t		 n, i, vlen;
	int		 basic, rc = -1;
	unsigned char	*b64 = NULL;

	if (http_read_file("auth_file", o->auth_file, 1, HTTP_AUTH_FILE_MAX,
	    &data, &n, err, errlen) == -1)
		return -1;
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r' ||
	    data[n - 1] == ' ' || data[n - 1] == '\t'))
		data[--n] = '\0';
	basic = strncasecmp(data, "Basic ", 6) == 0;
	if (!basic && strncasecmp(data, "Bearer ", 7) != 0)
		goto bad;
	for (v = data + (basic ? 6 : 7); *v == ' '; v++)
		;
	vlen = strlen(v);
	if (vlen == 0 || strlen(data) != n)
		goto bad;
	for (i = 0; i < vlen; i++) {
		/* one line of printable ASCII: nothing to smuggle a header */
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
			goto bad;
	}
	if (basic && strchr(v, ':') != NULL) {
		b64 = xmalloc(4 * ((vlen + 2) / 3) + 1);
		EVP_EncodeBlock(b64, (unsigned char *)v, (int)vlen);
		xasprintf(&hdr, "Authorization: Basic %s", b64);
		o->secrets[0] = xstrdup(v);
		o->secrets[1] = xstrdup((char *)b64);
		/* the password alone, unless too short to blank safely */
		if (strlen(strchr(v, ':') + 1) >= 4)
			o->secrets[2] = xstrdup(strchr(v, ':') + 1);
		explicit_bzero(b64, strlen((char *)b64));
	} else {
		xasprintf(&hdr, "Authorization: %s %s", basic ? "Basic" :
		    "Bearer", v);
		o->secrets[0] = xstrdup(v);
	}
	o->hdrs = curl_slist_append(o->hdrs, hdr);
	if (o->hdrs == NULL)
		fatalx("%s: curl_slist_append", __func__);
	rc = 0;
	goto done;
bad:
	snprintf(err, errlen, "auth_file %s: expected one line 'Basic "
	    "user:password' or 'Bearer TOKEN'", o->auth_file);
done:
	if (hdr != NULL) {
		explicit_bzero(hdr, strlen(hdr));
		free(hdr);
	}
	free(b64);
	explicit_bzero(data, HTTP_AUTH_FILE_MAX + 1);
	free(data);
	return rc;
}

/* resolve = HOST:PORT:ADDR -> CONNECT_TO HOST:PORT:ADDR:PORT. */
static int
http_resolve_entry(struct http_opts *o, const char *line, char *err,
    size_t errlen)
{
	const char	*p, *c1, *c2;
	char		 host[256], addr[INET6_ADDRSTRLEN + 2], *ent;
	unsigned char	 bin[sizeof(struct in6_addr)];
	long		 port;
	char		*end;
	size_t		 alen;
	int		 v6;

	if (line[0] == '[') {
		if ((p = strchr(line, ']')) == NULL)
			goto bad;
		p++;
	} else
		p = strchr(line, ':');
	if (p == NULL || *p != ':' || p == line ||
	    (size_t)(p - line) >= sizeof(host))
		goto bad;
	c1 = p;
	memcpy(host, line, (size_t)(c1 - line));
	host[c1 - line] = '\0';
	port = strtol(c1 + 1, &end, 10);
	if (end == c1 + 1 || *end != ':' || port < 1 || port > 65535)
		goto bad;
	c2 = end;
	p = c2 + 1;
	alen = strlen(p);
	if (alen >= 2 && p[0] == '[' && p[alen - 1] == ']') {
		p++;
		alen -= 2;
	}
	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, p, alen);
	addr[alen] = '\0';
	v6 = inet_pton(AF_INET6, addr, bin) == 1;
	if (!v6 && inet_pton(AF_INET, addr, bin) != 1) {
		snprintf(err, errlen, "resolve '%.100s': '%s' is not an IP "
		    "address", line, addr);
		return -1;
	}
	xasprintf(&ent, "%s:%ld:%s%s%s:%ld", host, port, v6 ? "[" : "", addr,
	    v6 ? "]" : "", port);
	o->connect_to = curl_slist_append(o->connect_to, ent);
	free(ent);
	if (o->connect_to == NULL)
		fatalx("%s: curl_slist_append", __func__);
	return 0;
bad:
	snprintf(err, errlen, "resolve '%.100s' is not HOST:PORT:ADDR",
	    line);
	return -1;
}

static int
http_check(struct probe_conf *conf, const char **key, char *err,
    size_t errlen)
{
	struct http_opts *o = conf->opts;
	CURLU		*u;
	CURLUcode	 uc;
	char		*scheme = NULL, *host = NULL, *pscheme = NULL;
	char		*puser = NULL;
	const char	*rest;
	size_t		 i, n, nlen;
	int		 rc = -1, https, rerr;
	char		 msg[128];

	if ((u = curl_url()) == NULL)
		fatalx("%s: curl_url", __func__);
	if ((uc = curl_url_set(u, CURLUPART_URL, conf->target, 0)) !=
	    CURLUE_OK) {
		snprintf(err, errlen, "bad URL '%s': %s", conf->target,
		    curl_url_strerror(uc));
		goto fail;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		snprintf(err, errlen, "target must be an http:// or https:// "
		    "URL, not '%s'", conf->target);
		goto fail;
	}
	https = strcmp(scheme, "https") == 0;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0') {
		snprintf(err, errlen, "target '%s' has no host", conf->target);
		goto fail;
	}

	/* the request */
	*key = "method";
	if (o->method != NULL && (strlen(o->method) > 32 ||
	    !http_token(o->method, strlen(o->method)))) {
		snprintf(err, errlen, "method '%.40s' is not an HTTP method "
		    "(a token like GET, POST, PUT, DELETE)", o->method);
		goto fail;
	}
	o->head = o->method != NULL && strcmp(o->method, "HEAD") == 0;
	/* A HEAD answer has no body to match: the probe could never pass. */
	if (o->head && (o->expect_body != NULL ||
	    o->expect_body_regex != NULL || o->expect_body_not != NULL ||
	    o->expect_json != NULL)) {
		snprintf(err, errlen, "%s needs a method with a response body, "
		    "not HEAD", o->expect_body != NULL ? "expect_body" :
		    o->expect_body_regex != NULL ? "expect_body_regex" :
		    o->expect_body_not != NULL ? "expect_body_not" :
		    "expect_json");
		goto fail;
	}
	*key = "body_file";
	if (o->body != NULL && o->body_file != NULL) {
		snprintf(err, errlen, "use body or body_file, not both");
		goto fail;
	}
	if (o->head && (o->body != NULL || o->body_file != NULL)) {
		snprintf(err, errlen, "method HEAD sends no body");
		goto fail;
	}
	if (o->body != NULL) {
		o->body_len = strlen(o->body);
		o->body_data = xstrdup(o->body);
	} else if (o->body_file != NULL && http_read_file("body_file",
	    o->body_file, 0, HTTP_BODY_FILE_MAX, &o->body_data, &o->body_len,
	    err, errlen) == -1)
		goto fail;
	/* curl's own choice is GET, or POST with a body (as curl -d) */
	if (o->method != NULL && !o->head && !(strcmp(o->method, "GET") == 0 &&
	    o->body_data == NULL) && !(strcmp(o->method, "POST") == 0 &&
	    o->body_data != NULL))
		o->req_method = o->method;
	*key = "header";
	for (i = 0; o->header != NULL && o->header[i] != NULL; i++) {
		const char	*h = o->header[i];
		char		*line;

		if (http_split_header(h, &nlen, &rest) == -1) {
			snprintf(err, errlen, "header '%.100s' is not 'Name: "
			    "value'", h);
			goto fail;
		}
		for (n = 0; rest[n] != '\0'; n++) {
			if ((unsigned char)rest[n] < 0x20 && rest[n] != '\t')
				break;
		}
		if (rest[n] != '\0' || !text_is_clean(rest)) {
			snprintf(err, errlen, "header '%.*s' has a control "
			    "character in its value", (int)nlen, h);
			goto fail;
		}
		/* headers are shown by the API; a credential is not */
		if (nlen == 13 && strncasecmp(h, "Authorization", 13) == 0) {
			snprintf(err, errlen, "put the Authorization header's "
			    "credential in auth_file (headers are shown by "
			    "the API)");
			goto fail;
		}
		/* "Name;" is how curl sends a header with an empty value */
		if (rest[0] == '\0')
			xasprintf(&line, "%.*s;", (int)nlen, h);
		else
			xasprintf(&line, "%.*s: %s", (int)nlen, h, rest);
		o->hdrs = curl_slist_append(o->hdrs, line);
		free(line);
		if (o->hdrs == NULL)
			fatalx("%s: curl_slist_append", __func__);
	}
	/* No 100-continue round trip in the timings: send the body at once. */
	if (o->body_data != NULL && (o->hdrs = curl_slist_append(o->hdrs,
	    "Expect:")) == NULL)
		fatalx("%s: curl_slist_append", __func__);
	*key = "auth_file";
	if (o->auth_file != NULL && http_load_auth(o, err, errlen) == -1)
		goto fail;

	/* the connection */
	*key = "follow_redirects";
	if (o->follow_redirects > HTTP_REDIRECTS_MAX) {
		snprintf(err, errlen, "follow_redirects %d is more than %d",
		    o->follow_redirects, HTTP_REDIRECTS_MAX);
		goto fail;
	}
	*key = "http_version";
	o->httpver = -1;
	if (o->http_version == NULL)
		;
	else if (strcmp(o->http_version, "1.1") == 0)
		o->httpver = CURL_HTTP_VERSION_1_1;
	else if (strcmp(o->http_version, "2") == 0) {
		if (!https) {
			snprintf(err, errlen, "http_version 2 is HTTP/2 over "
			    "TLS and needs an https:// target (h2c is "
			    "cleartext HTTP/2)");
			goto fail;
		}
		o->httpver = CURL_HTTP_VERSION_2TLS;
	} else if (strcmp(o->http_version, "h2c") == 0) {
		if (https) {
			snprintf(err, errlen, "http_version h2c is cleartext "
			    "HTTP/2 and needs an http:// target (2 is HTTP/2 "
			    "over TLS)");
			goto fail;
		}
		o->httpver = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
	} else {
		snprintf(err, errlen, "http_version must be 1.1, 2 or h2c, not "
		    "'%.20s'", o->http_version);
		goto fail;
	}
	if (o->httpver != -1 && o->httpver != CURL_HTTP_VERSION_1_1 &&
	    !(curl_version_info(CURLVERSION_NOW)->features &
	    CURL_VERSION_HTTP2)) {
		snprintf(err, errlen, "http_version %s: this libcurl has no "
		    "HTTP/2", o->http_version);
		goto fail;
	}
	*key = "ip_family";
	if (o->ip_family == NULL || strcmp(o->ip_family, "any") == 0)
		o->ipresolve = CURL_IPRESOLVE_WHATEVER;
	else if (strcmp(o->ip_family, "4") == 0)
		o->ipresolve = CURL_IPRESOLVE_V4;
	else if (strcmp(o->ip_family, "6") == 0)
		o->ipresolve = CURL_IPRESOLVE_V6;
	else {
		snprintf(err, errlen, "ip_family must be any, 4 or 6, not "
		    "'%.20s'", o->ip_family);
		goto fail;
	}
	*key = "resolve";
	for (i = 0; o->resolve != NULL && o->resolve[i] != NULL; i++) {
		if (http_resolve_entry(o, o->resolve[i], err, errlen) == -1)
			goto fail;
	}
	*key = "proxy";
	if (o->proxy != NULL) {
		CURLU *pu = curl_url();

		if (pu == NULL)
			fatalx("%s: curl_url", __func__);
		uc = curl_url_set(pu, CURLUPART_URL, o->proxy, 0);
		if (uc == CURLUE_OK)
			(void)curl_url_get(pu, CURLUPART_SCHEME, &pscheme, 0);
		if (uc == CURLUE_OK)
			(void)curl_url_get(pu, CURLUPART_USER, &puser, 0);
		curl_url_cleanup(pu);
		if (uc != CURLUE_OK || pscheme == NULL ||
		    (strcmp(pscheme, "http") != 0 &&
		    strcmp(pscheme, "https") != 0 &&
		    strcmp(pscheme, "socks4") != 0 &&
		    strcmp(pscheme, "socks4a") != 0 &&
		    strcmp(pscheme, "socks5") != 0 &&
		    strcmp(pscheme, "socks5h") != 0)) {
			snprintf(err, errlen, "proxy '%.100s' is not an http, "
			    "https, socks4, socks4a, socks5 or socks5h URL",
			    o->proxy);
			goto fail;
		}
		if (puser != NULL) {
			snprintf(err, errlen, "proxy: no credentials in the "
			    "URL (it is shown by the API)");
			goto fail;
		}
		if (o->resolve != NULL) {
			snprintf(err, errlen, "resolve has no effect through "
			    "a proxy (the proxy connects)");
			*key = "resolve";
			goto fail;
		}
	}

	/* TLS */
	*key = "ca";
	if (o->ca != NULL && access(o->ca, R_OK) == -1) {
		snprintf(err, errlen, "ca %s: %s", o->ca, strerror(errno));
		goto fail;
	}
	if (o->ca != NULL && o->tls_insecure) {
		snprintf(err, errlen, "ca is never used with tls_insecure = "
		    "yes (no verification)");
		*key = "tls_insecure";
		goto fail;
	}
	*key = "client_cert";
	if ((o->client_cert == NULL) != (o->client_key == NULL)) {
		snprintf(err, errlen, "client_cert and client_key go together");
		goto fail;
	}
	if (o->client_cert != NULL && access(o->client_cert, R_OK) == -1) {
		snprintf(err, errlen, "client_cert %s: %s", o->client_cert,
		    strerror(errno));
		goto fail;
	}
	*key = "client_key";
	if (o->client_key != NULL) {
		char	*k = NULL;
		size_t	 klen;

		/* read once to check it the way auth_file is, then dropped */
		if (http_read_file("client_key", o->client_key, 1, 1024 * 1024,
		    &k, &klen, err, errlen) == -1)
			goto fail;
		explicit_bzero(k, klen);
		free(k);
	}

	/* what the response is held to */
	*key = "expect_body_regex";
	if (o->expect_body != NULL && o->expect_body_regex != NULL) {
		snprintf(err, errlen, "use expect_body or expect_body_regex, "
		    "not both");
		goto fail;
	}
	if (o->expect_body_regex != NULL) {
		if ((rerr = regcomp(&o->body_re, o->expect_body_regex,
		    REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(rerr, &o->body_re, msg, sizeof(msg));
			snprintf(err, errlen, "bad regex: %s", msg);
			goto fail;
		}
		o->body_re_ok = 1;
	}
	*key = "expect_header";
	for (n = 0; o->expect_header != NULL && o->expect_header[n] != NULL;
	    n++)
		;
	if (n > 0)
		o->hexp = xcalloc(n, sizeof(*o->hexp));
	for (i = 0; i < n; i++) {
		struct http_hexp *he = &o->hexp[i];
		const char	 *h = o->expect_header[i];

		if (http_split_header(h, &nlen, &rest) == -1) {
			snprintf(err, errlen, "expect_header '%.100s' is not "
			    "'Name: REGEX'", h);
			goto fail;
		}
		o->nhexp++;
		xasprintf(&he->name, "%.*s", (int)nlen, h);
		he->spec = xstrdup(h);
		if (rest[0] == '\0')
			continue;
		if ((rerr = regcomp(&he->re, rest, REG_EXTENDED |
		    REG_NOSUB)) != 0) {
			regerror(rerr, &he->re, msg, sizeof(msg));
			snprintf(err, errlen, "expect_header '%.100s': bad "
			    "regex: %s", h, msg);
			goto fail;
		}
		he->re_ok = 1;
	}
	*key = "expect_json";
	for (n = 0; o->expect_json != NULL && o->expect_json[n] != NULL; n++)
		;
	if (n > 0)
		o->json = xcalloc(n, sizeof(*o->json));
	for (i = 0; i < n; i++) {
		char	why[160];

		if ((o->json[i] = expect_json_compile(o->expect_json[i], why,
		    sizeof(why))) == NULL) {
			snprintf(err, errlen, "expect_json: %s", why);
			goto fail;
		}
		o->njson++;
	}
	*key = NULL;
	rc = 0;
fail:
	curl_free(puser);
	curl_free(pscheme);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* Frees a header list, its credential wiped first. */
static void
http_free_slist(struct curl_slist *l)
{
	struct curl_slist *s;

	for (s = l; s != NULL; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(l);
}

static void
http_free_opts(void *opts)
{
	struct http_opts *o = opts;
	size_t		  i;

	if (o->body_re_ok)
		regfree(&o->body_re);
	o->body_re_ok = 0;
	free(o->body_data);
	o->body_data = NULL;
	http_free_slist(o->hdrs);
	o->hdrs = NULL;
	curl_slist_free_all(o->connect_to);
	o->connect_to = NULL;
	for (i = 0; i < HTTP_SECRETS; i++) {
		if (o->secrets[i] != NULL) {
			explicit_bzero(o->secrets[i], strlen(o->secrets[i]));
			free(o->secrets[i]);
			o->secrets[i] = NULL;
		}
	}
	for (i = 0; i < o->nhexp; i++) {
		free(o->hexp[i].name);
		free(o->hexp[i].spec);
		if (o->hexp[i].re_ok)
			regfree(&o->hexp[i].re);
	}
	free(o->hexp);
	o->hexp = NULL;
	o->nhexp = 0;
	for (i = 0; i < o->njson; i++)
		expect_json_free(o->json[i]);
	free(o->json);
	o->json = NULL;
	o->njson = 0;
}

static size_t
http_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_run	*h = arg;
	size_t		 len = size * n, room;

	/* Past the cap the body is read and dropped, never refused. */
	if (h->keep_body && h->body.len < HTTP_BODY_KEEP) {
		room = HTTP_BODY_KEEP - h->body.len;
		buf_add(&h->body, data, len < room ? len : room);
		if (len > room)
			h->body_cut = 1;
	} else if (h->keep_body && len > 0)
		h->body_cut = 1;
	return len;
}

/*
 * CURLOPT_PREREQFUNCTION: the connection (and TLS) is up, the request not
 * yet sent.  The peer certificate is read here because with FORBID_REUSE
 * the connection, and the SSL object with it, is gone once the transfer
 * completes.  With tls_verify = no an unverifiable certificate still
 * gets here and its expiry is reported all the same.
 */
static int
http_prereq_cb(void *arg, char *pip, char *lip, int pport, int lport)
{
	struct http_run	*h = arg;

	curlm_peer_cert(h->easy, &h->run->res);
	return CURL_PREREQFUNC_OK;
}

/* Everything a run holds, its easy handle back to the pool. */
static void
http_release(void *priv)
{
	struct http_run	*h = priv;

	if (h == NULL)
		return;
	if (h->easy != NULL) {
		curlm_remove(http_cm, h->easy);
		if (http_npool < HTTP_POOL_MAX) {
			curl_easy_reset(h->easy);
			http_pool[http_npool++] = h->easy;
		} else
			curl_easy_cleanup(h->easy);
		h->easy = NULL;
	}
	buf_free(&h->body);
	free(h);
}

#define SETOPT(e, o, v) do {						\
	if (curl_easy_setopt((e), (o), (v)) != CURLE_OK)		\
		goto fail;						\
} while (0)

static int
http_setup(struct http_run *h, const struct probe_conf *c)
{
	const struct http_opts	*o = c->opts;
	CURL			*e = h->easy;
	int			 verify = o->tls_verify && !o->tls_insecure;

	SETOPT(e, CURLOPT_URL, c->target);
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SETOPT(e, CURLOPT_PRIVATE, h);
	SETOPT(e, CURLOPT_ERRORBUFFER, h->errbuf);
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_NOBODY, o->head ? 1L : 0L);
	SETOPT(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	if (o->body_data != NULL) {
		/* the options outlive the run: curl need not copy */
		SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)o->body_len);
		SETOPT(e, CURLOPT_POSTFIELDS, o->body_data);
	}
	if (o->req_method != NULL)
		SETOPT(e, CURLOPT_CUSTOMREQUEST, o->req_method);
	if (o->hdrs != NULL)
		SETOPT(e, CURLOPT_HTTPHEADER, o->hdrs);
	SETOPT(e, CURLOPT_FOLLOWLOCATION, o->follow_redirects > 0 ? 1L : 0L);
	if (o->follow_redirects > 0)
		SETOPT(e, CURLOPT_MAXREDIRS, (long)o->follow_redirects);
	if (o->httpver != -1)
		SETOPT(e, CURLOPT_HTTP_VERSION, o->httpver);
	SETOPT(e, CURLOPT_IPRESOLVE, o->ipresolve);
	/*
	 * resolve pins by CONNECT_TO, not CURLOPT_RESOLVE: RESOLVE entries
	 * land in the DNS cache every transfer of the multi shares, and
	 * would pin the name for the other probes too.
	 */
	if (o->connect_to != NULL)
		SETOPT(e, CURLOPT_CONNECT_TO, o->connect_to);
	/*
	 * Only the proxy the config names: "" keeps libcurl from taking one
	 * from http_proxy/https_proxy in the agent's environment.
	 */
	SETOPT(e, CURLOPT_PROXY, o->proxy != NULL ? o->proxy : "");
	/* Each probe measures a real connect, handshake and lookup. */
	SETOPT(e, CURLOPT_FRESH_CONNECT, 1L);
	SETOPT(e, CURLOPT_FORBID_REUSE, 1L);
	SETOPT(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	SETOPT(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	/*
	 * Without it, removing a transfer whose name lookup is still running
	 * (our timeout, a reload) joins curl's resolver thread: the whole
	 * loop would stall until getaddrinfo() gives up.  With it the
	 * thread is detached and frees itself when the lookup returns.
	 */
	(void)curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
	SETOPT(e, CURLOPT_TIMEOUT_MS,
	    (long)(c->timeout_ms + HTTP_TIMEOUT_MARGIN_MS));
	SETOPT(e, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	SETOPT(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	/*
	 * Parsing the system CA bundle costs ~20 ms of CPU on the loop.
	 * curl (7.87+) caches the parsed store per multi handle, but only
	 * when no CA directory is set, and Debian's libcurl sets
	 * /etc/ssl/certs by default: without this every verified probe
	 * would parse the whole bundle.  The bundle holds the same CAs.
	 */
	SETOPT(e, CURLOPT_CAPATH, NULL);
	if (o->ca != NULL) {
		SETOPT(e, CURLOPT_CAINFO, o->ca);
		/*
		 * The cache holds one store and is rebuilt whenever the
		 * file differs: a custom ca would evict the system bundle
		 * at each switch.  Such probes build their own small store.
		 */
		(void)curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
	}
	if (o->client_cert != NULL) {
		SETOPT(e, CURLOPT_SSLCERT, o->client_cert);
		SETOPT(e, CURLOPT_SSLKEY, o->client_key);
	}
	SETOPT(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	SETOPT(e, CURLOPT_WRITEDATA, h);
	if (strncasecmp(c->target, "https:", 6) == 0 ||
	    o->follow_redirects > 0) {
		SETOPT(e, CURLOPT_PREREQFUNCTION, http_prereq_cb);
		SETOPT(e, CURLOPT_PREREQDATA, h);
	}
	return 0;
fail:
	return -1;
}

#undef SETOPT

static void
http_start(struct probe_run *run)
{
	const struct http_opts	*o = run->conf->opts;
	struct http_run		*h;
	char			 err[PROBE_ERR_LEN];

	h = xcalloc(1, sizeof(*h));
	h->run = run;
	buf_init(&h->body);
	h->keep_body = o->expect_body != NULL ||
	    o->expect_body_regex != NULL || o->expect_body_not != NULL ||
	    o->njson > 0;
	if (http_npool > 0)
		h->easy = http_pool[--http_npool];
	else if ((h->easy = curl_easy_init()) == NULL)
		fatalx("%s: curl_easy_init", __func__);
	if (http_setup(h, run->conf) == -1) {
		http_release(h);
		probe_done(run, PROBE_FAIL, "libcurl refused an option");
		return;
	}
	if (curlm_add(http_cm, h->easy, err, sizeof(err)) == -1) {
		/* Not pooled: a handle the multi refused may be unusable. */
		curl_easy_cleanup(h->easy);
		h->easy = NULL;
		http_release(h);
		probe_done(run, PROBE_FAIL, "%s", err);
		return;
	}
	run->priv = h;
}

/* Names the failure the way an operator searches for it. */
static void
http_error(CURL *e, CURLcode rc, const char *errbuf, char *out, size_t len)
{
	static const char	 vague[] = ": Couldn't connect to server";
	long			 oserr = 0;
	size_t			 n;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		/*
		 * 7.88 ends with the vague "Couldn't connect to server";
		 * say why instead ("... port 1 after 0 ms: Connection
		 * refused"), as older curl did.
		 */
		(void)curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &oserr);
		n = strlen(errbuf);
		if (oserr == 0 || n < sizeof(vague) - 1 ||
		    strcmp(errbuf + n - (sizeof(vague) - 1), vague) != 0) {
			strlcpy_v(out, errbuf, len);
			return;
		}
		snprintf(out, len, "%.*s: %s",
		    (int)(n - (sizeof(vague) - 1) > 150 ? 150 :
		    n - (sizeof(vague) - 1)), errbuf, strerror((int)oserr));
		return;
	case CURLE_OPERATION_TIMEDOUT:
		/* Only curl's safety net: the engine's timeout comes first. */
		snprintf(out, len, "timeout (%.150s)", errbuf);
		return;
	default:
		strlcpy_v(out, errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(rc), len);
		return;
	}
}

/*
 * The engine's timeout ends the run.  What the transfer
 * got to (status code, phases up to the slow one) is left in run->res:
 * the engine stores it with its timeout error, so an operator sees which
 * phase was slow.  The engine sets the latency itself.
 */
static void
http_abort(struct probe_run *run)
{
	struct http_run	*h = run->priv;
	long		 code = 0;

	if (h == NULL)
		return;
	curlm_timings(h->easy, &run->res);
	if (curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code) ==
	    CURLE_OK && code > 0)
		run->res.code = (int)code;
}

/* The response's headers against expect_header: 1, or 0 + msg. */
static int
http_check_headers(const struct http_opts *o, CURL *e, char *msg,
    size_t len)
{
	struct curl_header	*hv;
	CURLHcode		 hc;
	char			 got[64], esc[256];
	size_t			 i, k, amount;
	int			 ok;

	for (i = 0; i < o->nhexp; i++) {
		const struct http_hexp *he = &o->hexp[i];

		/* -1: the last request, the one redirects ended at */
		hc = curl_easy_header(e, he->name, 0, CURLH_HEADER, -1, &hv);
		if (hc != CURLHE_OK) {
			snprintf(msg, len, "expect_header %.100s: %s",
			    he->spec, hc == CURLHE_MISSING ||
			    hc == CURLHE_NOHEADERS ? "no such header" :
			    "libcurl cannot read headers");
			return 0;
		}
		if (!he->re_ok)
			continue;
		amount = hv->amount;
		strlcpy_v(got, hv->value, sizeof(got));
		ok = 0;
		/* any of a repeated header may match */
		for (k = 0; k < amount && !ok; k++) {
			if (k > 0 && curl_easy_header(e, he->name, k,
			    CURLH_HEADER, -1, &hv) != CURLHE_OK)
				break;
			ok = regexec(&he->re, hv->value, 0, NULL, 0) == 0;
		}
		if (!ok) {
			text_escape(got, esc, sizeof(esc));
			snprintf(msg, len, "expect_header %.80s: got \"%.80s\"",
			    he->spec, esc);
			expect_json_fix_end(msg);
			return 0;
		}
	}
	return 1;
}

/*
 * Remote text can echo what we sent (a server reflecting our headers
 * into its JSON): the credential is blanked out of anything we report.
 */
static void
http_redact(const struct http_opts *o, char *msg, size_t len)
{
	static const char	 mark[] = "[redacted]";
	char			*p;
	size_t			 i, sl, rest;

	for (i = 0; i < HTTP_SECRETS; i++) {
		if (o->secrets[i] == NULL || (sl = strlen(o->secrets[i])) == 0)
			continue;
		while ((p = strstr(msg, o->secrets[i])) != NULL) {
			rest = strlen(p + sl);
			if (sl >= sizeof(mark) - 1) {
				memcpy(p, mark, sizeof(mark) - 1);
				memmove(p + sizeof(mark) - 1, p + sl,
				    rest + 1);
			} else if ((size_t)(p - msg) + sizeof(mark) + rest <=
			    len) {
				memmove(p + sizeof(mark) - 1, p + sl,
				    rest + 1);
				memcpy(p, mark, sizeof(mark) - 1);
			} else {
				*p = '\0';	/* no room: cut it off */
				break;
			}
		}
	}
}

static const char *
http_version_str(long v)
{
	switch (v) {
	case CURL_HTTP_VERSION_1_0:
		return "1.0";
	case CURL_HTTP_VERSION_1_1:
		return "1.1";
	case CURL_HTTP_VERSION_2_0:
		return "2";
	case CURL_HTTP_VERSION_3:
		return "3";
	default:
		return "";
	}
}

static void
http_finish(struct http_run *h, CURLcode rc)
{
	struct probe_run	*run = h->run;
	const struct http_opts	*o = run->conf->opts;
	struct probe_result	*r = &run->res;
	enum probe_status	 st = PROBE_FAIL;
	char			 msg[PROBE_ERR_LEN] = "";
	const char		*body;
	long			 code = 0, ver = 0, redirects = 0;

	curlm_timings(h->easy, r);
	(void)curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code);
	(void)curl_easy_getinfo(h->easy, CURLINFO_HTTP_VERSION, &ver);
	(void)curl_easy_getinfo(h->easy, CURLINFO_REDIRECT_COUNT, &redirects);
	if (code > 0)
		r->code = (int)code;
	if (ver != 0)
		probe_result_detail(r, "\"http_version\":\"%s\","
		    "\"redirects\":%ld", http_version_str(ver), redirects);
	if (rc == CURLE_TOO_MANY_REDIRECTS) {
		snprintf(msg, sizeof(msg), "more than %d redirects "
		    "(follow_redirects = %d)", o->follow_redirects,
		    o->follow_redirects);
		goto done;
	}
	if (rc != CURLE_OK) {
		http_error(h->easy, rc, h->errbuf, msg, sizeof(msg));
		goto done;
	}
	if (code < o->expect_status.lo || code > o->expect_status.hi) {
		if (o->expect_status.lo == o->expect_status.hi)
			snprintf(msg, sizeof(msg), "status %ld, expected %ld",
			    code, o->expect_status.lo);
		else
			snprintf(msg, sizeof(msg), "status %ld, expected "
			    "%ld-%ld", code, o->expect_status.lo,
			    o->expect_status.hi);
		goto done;
	}
	/* "2" asks for HTTP/2: a server that only offers 1.1 fails it */
	if (o->httpver == CURL_HTTP_VERSION_2TLS &&
	    ver != CURL_HTTP_VERSION_2_0) {
		snprintf(msg, sizeof(msg), "HTTP/%s used, expected HTTP/2 "
		    "(the server did not offer h2 by ALPN)",
		    http_version_str(ver));
		goto done;
	}
	if (!http_check_headers(o, h->easy, msg, sizeof(msg)))
		goto done;
	body = h->body.data != NULL ? h->body.data : "";
	if (o->body_re_ok) {
		if (regexec(&o->body_re, body, 0, NULL, 0) != 0) {
			snprintf(msg, sizeof(msg), "body does not match "
			    "/%.80s/", o->expect_body_regex);
			goto done;
		}
	} else if (o->expect_body != NULL) {
		if (memmem(body, h->body.len, o->expect_body,
		    strlen(o->expect_body)) == NULL) {
			snprintf(msg, sizeof(msg), "body does not contain "
			    "'%.80s'", o->expect_body);
			goto done;
		}
	}
	if (o->expect_body_not != NULL && memmem(body, h->body.len,
	    o->expect_body_not, strlen(o->expect_body_not)) != NULL) {
		snprintf(msg, sizeof(msg), "body contains '%.80s'",
		    o->expect_body_not);
		goto done;
	}
	if (o->njson > 0) {
		if (h->body_cut) {
			snprintf(msg, sizeof(msg), "expect_json: body is "
			    "longer than %d bytes", HTTP_BODY_KEEP);
			goto done;
		}
		if (!expect_json_body(o->json, o->njson, body, h->body.len,
		    msg, sizeof(msg)))
			goto done;
	}
	st = PROBE_OK;
done:
	http_redact(o, msg, sizeof(msg));
	probe_finish(run, st, "%s", msg);
}

/* curlm.c: a transfer curl has finished. */
static void
http_done(CURL *easy, CURLcode rc, void *arg)
{
	struct http_run	*h = NULL;

	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &h) != CURLE_OK ||
	    h == NULL)
		fatalx("%s: transfer without a run", __func__);
	http_finish(h, rc);
}

static int
http_init(char *err, size_t errlen)
{
	const curl_version_info_data	*vi;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -1;
	}
	http_global = 1;
	vi = curl_version_info(CURLVERSION_NOW);
	if (vi->version_num < 0x075000) {	/* PREREQFUNCTION, _STR */
		snprintf(err, errlen, "libcurl %s is too old (need 7.80)",
		    vi->version);
		goto fail;
	}
	if ((http_cm = curlm_new(http_done, NULL, err, errlen)) == NULL)
		goto fail;
	return 0;
fail:
	curl_global_cleanup();
	http_global = 0;
	return -1;
}

/* The engine has released every run first: only idle handles remain. */
static void
http_shutdown(void)
{
	while (http_npool > 0)
		curl_easy_cleanup(http_pool[--http_npool]);
	curlm_free(http_cm);
	http_cm = NULL;
	if (http_global)
		curl_global_cleanup();
	http_global = 0;
}

const struct probe_type probe_http_type = {
	.name = "http",
	.opts_size = sizeof(struct http_opts),
	.keys = http_keys,
	.check = http_check,
	.free_opts = http_free_opts,
	.same_loaded = http_same_loaded,
	.init = http_init,
	.shutdown = http_shutdown,
	.start = http_start,
	.release = http_release,
	.abort = http_abort,
};
