/*
 * test_auth.c - the API's credentials and limits: tokens file parsing and
 * its errors, constant-time comparison, the JWT acceptance and refusal
 * matrix (times, algorithms, forged and confused tokens, claims), the
 * secrecy check of secret files, the rate limiter's bucket arithmetic
 * and table bound, and query-string decoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "hash.h"
#include "vantaged.h"

#define NOW	1800000000	/* a fixed "now" for every JWT check */

static const char hs_secret[] = "0123456789abcdef0123456789abcdef-secret";

struct keys {
	char	*rsa_priv, *rsa_pub, *ec_priv, *ec_pub, *rsa_small_pub;
	char	*rsa2_priv;
};
static struct keys K;

static char *
pem_of(EVP_PKEY *pk, int private)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *out;
	long	 n;

	assert_non_null(b);
	if (private)
		assert_int_equal(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0,
		    NULL, NULL), 1);
	else
		assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
	n = BIO_get_mem_data(b, &p);
	out = xmalloc((size_t)n + 1);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	return out;
}

static int
setup_keys(void **state)
{
	EVP_PKEY	*pk;

	pk = EVP_RSA_gen(2048);
	K.rsa_priv = pem_of(pk, 1);
	K.rsa_pub = pem_of(pk, 0);
	EVP_PKEY_free(pk);
	pk = EVP_RSA_gen(2048);
	K.rsa2_priv = pem_of(pk, 1);
	EVP_PKEY_free(pk);
	pk = EVP_RSA_gen(1024);
	K.rsa_small_pub = pem_of(pk, 0);
	EVP_PKEY_free(pk);
	pk = EVP_EC_gen("P-256");
	K.ec_priv = pem_of(pk, 1);
	K.ec_pub = pem_of(pk, 0);
	EVP_PKEY_free(pk);
	return 0;
}

static int
teardown_keys(void **state)
{
	free(K.rsa_priv);
	free(K.rsa_pub);
	free(K.rsa2_priv);
	free(K.rsa_small_pub);
	free(K.ec_priv);
	free(K.ec_pub);
	return 0;
}

/* ---------------------------------------------------------------- */
/* tokens file */

static void
expect_tokens_error(const char *text, const char *what)
{
	struct auth	*a = auth_new();
	char		 err[512] = "";

	if (auth_parse_tokens(a, text, strlen(text), "tokens", err,
	    sizeof(err)) != -1)
		fail_msg("accepted, expected an error with '%s':\n%s", what,
		    text);
	if (strstr(err, what) == NULL)
		fail_msg("expected '%s' in: %s", what, err);
	auth_free(a);
}

static void
bearer(char *out, size_t len, const char *tok)
{
	snprintf(out, len, "Bearer %s", tok);
}

static void
test_tokens_parse(void **state)
{
	struct auth	*a = auth_new();
	struct auth_who	 who;
	char		 err[512], hv[HASH_HEX_LEN + 1], ha[HASH_HEX_LEN + 1];
	char		 text[1024], hdr[128];

	hash_sha256_hex("vt_viewer", 9, hv);
	hash_sha256_hex("vt_admin", 8, ha);
	/* upper-case hex is taken too */
	for (char *p = ha; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(text, sizeof(text), "# comment\n\n  alice viewer %s  # why\n"
	    "adam\tadmin\t%s\r\n", hv, ha);
	assert_int_equal(auth_parse_tokens(a, text, strlen(text), "tokens",
	    err, sizeof(err)), 0);
	assert_int_equal(auth_n_tokens(a), 2);

	bearer(hdr, sizeof(hdr), "vt_viewer");
	assert_int_equal(auth_check(a, hdr, NOW, &who), AUTH_OK);
	assert_int_equal(who.role, ROLE_VIEWER);
	assert_string_equal(who.actor, "alice");
	assert_int_equal(auth_check(a, "bearer   vt_admin  ", NOW, &who),
	    AUTH_OK);
	assert_int_equal(who.role, ROLE_ADMIN);
	assert_string_equal(who.actor, "adam");

	assert_int_equal(auth_check(a, "Bearer vt_viewex", NOW, &who),
	    AUTH_UNKNOWN_TOKEN);
	assert_int_equal(who.role, ROLE_NONE);
	assert_string_equal(who.actor, "");
	assert_int_equal(auth_check(a, NULL, NOW, &who), AUTH_MISSING);
	assert_int_equal(auth_check(a, "", NOW, &who), AUTH_MISSING);
	assert_int_equal(auth_check(a, "Basic dg==", NOW, &who),
	    AUTH_MALFORMED);
	assert_int_equal(auth_check(a, "Bearer ", NOW, &who), AUTH_MALFORMED);
	assert_int_equal(auth_check(a, "Bearer a b", NOW, &who),
	    AUTH_MALFORMED);
	assert_int_equal(auth_check(a, "Bearer vt_\x01x", NOW, &who),
	    AUTH_MALFORMED);
	/* a JWT-shaped credential with no jwt_key */
	assert_int_equal(auth_check(a, "Bearer a.b.c", NOW, &who),
	    AUTH_JWT_DISABLED);
	auth_free(a);

	/* nothing configured at all */
	a = auth_new();
	assert_int_equal(auth_check(a, "Bearer vt_viewer", NOW, &who),
	    AUTH_NO_CREDENTIALS);
	assert_int_equal(auth_check(NULL, "Bearer vt_viewer", NOW, &who),
	    AUTH_NO_CREDENTIALS);
	auth_free(a);

	/* every result has a message (the man page lists them) */
	for (int r = AUTH_OK; r <= AUTH_JWT_LIFETIME; r++)
		assert_string_not_equal(auth_result_str((enum auth_result)r),
		    "?");
}

static void
test_tokens_errors(void **state)
{
	char	good[HASH_HEX_LEN + 1], text[512];

	hash_sha256_hex("x", 1, good);
	snprintf(text, sizeof(text), "a viewer %s\nb boss %s\n", good, good);
	expect_tokens_error(text, "tokens:2: role 'boss'");
	snprintf(text, sizeof(text), "a viewer %s\nb viewer\n", good);
	expect_tokens_error(text, "tokens:2: expected \"NAME ROLE SHA256HEX\"");
	snprintf(text, sizeof(text), "a viewer %s extra\n", good);
	expect_tokens_error(text, "tokens:1: expected");
	expect_tokens_error("a viewer vt_plaintexttoken\n",
	    "tokens:1: expected the SHA-256");
	snprintf(text, sizeof(text), "a viewer %.63sg\n", good);
	expect_tokens_error(text, "tokens:1: expected the SHA-256");
	snprintf(text, sizeof(text), "a viewer %s\n\na admin %s\n", good,
	    good);
	expect_tokens_error(text, "tokens:3: token name 'a' used twice");
	snprintf(text, sizeof(text), "a/b viewer %s\n", good);
	expect_tokens_error(text, "tokens:1: token name 'a/b'");
}

static void
test_hash_equal(void **state)
{
	assert_true(hash_equal("abc", "abc"));
	assert_false(hash_equal("abc", "abd"));
	assert_false(hash_equal("abc", "ab"));
	assert_false(hash_equal("", "a"));
	assert_true(hash_equal("", ""));
}

static void
test_secrecy(void **state)
{
	char	 path[] = "/tmp/vt-test-auth.XXXXXX", err[512], *data;
	size_t	 len;
	int	 fd;

	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "secret\n", 7), 7);
	close(fd);
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(auth_read_file(path, 1, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "chmod 600"));
	/* not a secret: readable is fine */
	data = auth_read_file(path, 0, &len, err, sizeof(err));
	assert_non_null(data);
	free(data);
	assert_int_equal(chmod(path, 0600), 0);
	data = auth_read_file(path, 1, &len, err, sizeof(err));
	assert_non_null(data);
	assert_int_equal(len, 7);
	assert_string_equal(data, "secret\n");
	free(data);
	unlink(path);
	assert_null(auth_read_file(path, 1, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
}

/* ---------------------------------------------------------------- */
/* JWT */

struct claims {
	const char	*sub;		/* NULL: absent */
	const char	*role;
	long		 exp;		/* 0: absent */
	long		 nbf;		/* 0: absent */
};

static const struct claims ok_claims = { "carol", "operator", NOW + 300, 0 };

static char *
mkjwt(jwt_alg_t alg, const char *key, const struct claims *c)
{
	jwt_t	*j;
	char	*s, *out;

	assert_int_equal(jwt_new(&j), 0);
	if (c->sub != NULL)
		jwt_add_grant(j, "sub", c->sub);
	if (c->role != NULL)
		jwt_add_grant(j, "role", c->role);
	if (c->exp != 0)
		jwt_add_grant_int(j, "exp", c->exp);
	if (c->nbf != 0)
		jwt_add_grant_int(j, "nbf", c->nbf);
	assert_int_equal(jwt_set_alg(j, alg, (const unsigned char *)key,
	    key != NULL ? (int)strlen(key) : 0), 0);
	s = jwt_encode_str(j);
	assert_non_null(s);
	out = xstrdup(s);
	free(s);
	jwt_free(j);
	return out;
}

static struct auth *
auth_with_key(const char *key)
{
	struct auth	*a = auth_new();
	char		 err[512] = "";

	if (auth_set_jwt_key(a, key, strlen(key), "jwt.key", err,
	    sizeof(err)) != 0)
		fail_msg("key refused: %s", err);
	return a;
}

static enum auth_result
check_jwt(const struct auth *a, const char *tok, int64_t now,
    struct auth_who *who)
{
	char	*hdr;
	enum auth_result r;

	xasprintf(&hdr, "Bearer %s", tok);
	r = auth_check(a, hdr, now, who);
	free(hdr);
	return r;
}

/* One row of the matrix: token made with alg/key/claims, expected r. */
static void
row(const struct auth *a, jwt_alg_t alg, const char *key,
    const struct claims *c, enum auth_result want, const char *what)
{
	struct auth_who	 who;
	char		*tok = mkjwt(alg, key, c);
	enum auth_result got = check_jwt(a, tok, NOW, &who);

	if (got != want)
		fail_msg("%s: expected '%s', got '%s'", what,
		    auth_result_str(want), auth_result_str(got));
	if (want == AUTH_OK) {
		assert_string_equal(who.actor, c->sub);
	} else {
		assert_int_equal(who.role, ROLE_NONE);
	}
	free(tok);
}

static void
test_jwt_hs256(void **state)
{
	struct auth	*a = auth_with_key(hs_secret);
	struct claims	 c;
	struct auth_who	 who;
	char		*tok;

	assert_string_equal(auth_jwt_alg(a), "HS256");
	row(a, JWT_ALG_HS256, hs_secret, &ok_claims, AUTH_OK, "valid");
	tok = mkjwt(JWT_ALG_HS256, hs_secret, &ok_claims);
	assert_int_equal(check_jwt(a, tok, NOW, &who), AUTH_OK);
	assert_int_equal(who.role, ROLE_OPERATOR);
	free(tok);

	c = ok_claims;
	c.exp = NOW - AUTH_LEEWAY_S + 1;
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_OK, "expired within leeway");
	c.exp = NOW - AUTH_LEEWAY_S - 1;
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_JWT_EXPIRED, "expired");
	c.exp = 0;
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_JWT_NO_EXP, "no exp");
	c = ok_claims;
	c.nbf = NOW + AUTH_LEEWAY_S - 1;
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_OK, "nbf within leeway");
	c.nbf = NOW + AUTH_LEEWAY_S + 1;
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_JWT_NOT_YET, "nbf ahead");
	c = ok_claims;
	c.sub = NULL;
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_JWT_SUB, "no sub");
	c.sub = "bad name with spaces";
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_JWT_SUB, "unclean sub");
	c = ok_claims;
	c.role = "root";
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_JWT_ROLE, "unknown role");
	c.role = NULL;
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_JWT_ROLE, "no role");

	row(a, JWT_ALG_HS256, "another-secret-of-at-least-32-bytes!!",
	    &ok_claims, AUTH_JWT_SIGNATURE, "wrong secret");
	row(a, JWT_ALG_NONE, NULL, &ok_claims, AUTH_JWT_ALG, "alg none");
	row(a, JWT_ALG_HS512, hs_secret, &ok_claims, AUTH_JWT_ALG, "HS512");
	row(a, JWT_ALG_RS256, K.rsa_priv, &ok_claims, AUTH_JWT_ALG,
	    "RS256 against a secret");

	/* a flipped bit in the payload */
	tok = mkjwt(JWT_ALG_HS256, hs_secret, &ok_claims);
	tok[strchr(tok, '.') - tok + 3] ^= 1;
	assert_int_not_equal(check_jwt(a, tok, NOW, &who), AUTH_OK);
	free(tok);
	assert_int_equal(check_jwt(a, "x.y.z", NOW, &who), AUTH_JWT_MALFORMED);
	assert_int_equal(check_jwt(a, "..", NOW, &who), AUTH_JWT_MALFORMED);
	auth_free(a);
}

static void
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_";
	uint32_t	acc = 0;
	size_t		i;
	int		bits = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = a[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		*out++ = a[(acc << (6 - bits)) & 63];
	*out = '\0';
}

/* An HS256 JWT from raw header and claims text, signed with secret. */
static char *
rawjwt(const char *hdr, const char *claims, const char *secret)
{
	unsigned char	 mac[32];
	unsigned int	 maclen = sizeof(mac);
	char		 h[512], p[512], sig[64], *tok;

	b64url((const unsigned char *)hdr, strlen(hdr), h);
	b64url((const unsigned char *)claims, strlen(claims), p);
	xasprintf(&tok, "%s.%s", h, p);
	assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)tok, strlen(tok), mac, &maclen));
	b64url(mac, maclen, sig);
	free(tok);
	xasprintf(&tok, "%s.%s.%s", h, p, sig);
	return tok;
}

static void
raw_row(const struct auth *a, const char *hdr, const char *claims,
    enum auth_result want, const char *what)
{
	struct auth_who	 who;
	char		*tok = rawjwt(hdr, claims, hs_secret);
	enum auth_result got = check_jwt(a, tok, NOW, &who);

	if (got != want)
		fail_msg("%s: expected '%s', got '%s'", what,
		    auth_result_str(want), auth_result_str(got));
	free(tok);
}

/*
 * Repeated keys: libjwt (jansson) takes the last, the pre-check and the
 * claims reader (cJSON) the first, so such a token means two things.
 */
static void
test_jwt_duplicates_lifetime(void **state)
{
	struct auth	*a = auth_with_key(hs_secret);
	struct claims	 c;
	char		 claims[256];

	snprintf(claims, sizeof(claims), "{\"sub\":\"carol\",\"role\":"
	    "\"viewer\",\"exp\":%d}", NOW + 300);
	raw_row(a, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, AUTH_OK,
	    "raw token");
	raw_row(a, "{\"alg\":\"RS256\",\"alg\":\"HS256\"}", claims,
	    AUTH_JWT_DUPLICATE, "alg twice, the last one right");
	raw_row(a, "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", claims,
	    AUTH_JWT_DUPLICATE, "alg twice, the same");
	raw_row(a, "{\"alg\":\"HS256\",\"x\":{\"k\":1,\"k\":2}}", claims,
	    AUTH_JWT_DUPLICATE, "a nested key twice in the header");
	raw_row(a, "{\"alg\":\"HS256\"} x", claims, AUTH_JWT_MALFORMED,
	    "data after the header object");
	snprintf(claims, sizeof(claims), "{\"sub\":\"carol\",\"role\":"
	    "\"viewer\",\"role\":\"admin\",\"exp\":%d}", NOW + 300);
	raw_row(a, "{\"alg\":\"HS256\"}", claims, AUTH_JWT_DUPLICATE,
	    "role twice");
	snprintf(claims, sizeof(claims), "{\"sub\":\"carol\",\"role\":"
	    "\"viewer\",\"exp\":%d,\"exp\":%d}", NOW + 300, NOW - 3000);
	raw_row(a, "{\"alg\":\"HS256\"}", claims, AUTH_JWT_DUPLICATE,
	    "exp twice");
	/* refused before the signature is looked at */
	raw_row(a, "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", "{}",
	    AUTH_JWT_DUPLICATE, "duplicate with any signature");

	c = ok_claims;
	c.exp = NOW + AUTH_MAX_LIFETIME_S;
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_OK, "exp 24 h ahead");
	c.exp = NOW + AUTH_MAX_LIFETIME_S + AUTH_LEEWAY_S + 1;
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_JWT_LIFETIME,
	    "exp past 24 h ahead");
	auth_set_max_lifetime(a, 3600);
	c.exp = NOW + 3600;
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_OK, "exp 1 h ahead of 1 h");
	c.exp = NOW + 7200;
	row(a, JWT_ALG_HS256, hs_secret, &c, AUTH_JWT_LIFETIME,
	    "exp 2 h ahead of 1 h");
	auth_free(a);
}

static void
test_jwt_rs256_es256(void **state)
{
	struct auth	*a = auth_with_key(K.rsa_pub);

	assert_string_equal(auth_jwt_alg(a), "RS256");
	row(a, JWT_ALG_RS256, K.rsa_priv, &ok_claims, AUTH_OK, "RS256");
	row(a, JWT_ALG_RS256, K.rsa2_priv, &ok_claims, AUTH_JWT_SIGNATURE,
	    "RS256 by another key");
	/* the classic: HS256 "signed" with the public key as the secret */
	row(a, JWT_ALG_HS256, K.rsa_pub, &ok_claims, AUTH_JWT_ALG,
	    "alg confusion");
	row(a, JWT_ALG_NONE, NULL, &ok_claims, AUTH_JWT_ALG, "alg none");
	row(a, JWT_ALG_ES256, K.ec_priv, &ok_claims, AUTH_JWT_ALG,
	    "ES256 against RSA");
	auth_free(a);

	a = auth_with_key(K.ec_pub);
	assert_string_equal(auth_jwt_alg(a), "ES256");
	row(a, JWT_ALG_ES256, K.ec_priv, &ok_claims, AUTH_OK, "ES256");
	row(a, JWT_ALG_HS256, K.ec_pub, &ok_claims, AUTH_JWT_ALG,
	    "alg confusion (EC)");
	row(a, JWT_ALG_RS256, K.rsa_priv, &ok_claims, AUTH_JWT_ALG,
	    "RS256 against EC");
	auth_free(a);
}

static void
test_jwt_keys(void **state)
{
	struct auth	*a = auth_new();
	char		 err[512];

	assert_int_equal(auth_set_jwt_key(a, "short", 5, "k", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "at least 32"));
	assert_int_equal(auth_set_jwt_key(a, K.rsa_priv, strlen(K.rsa_priv),
	    "k", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "private key"));
	assert_int_equal(auth_set_jwt_key(a, K.rsa_small_pub,
	    strlen(K.rsa_small_pub), "k", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "1024 bits"));
	assert_int_equal(auth_set_jwt_key(a, "-----BEGIN PUBLIC KEY-----\nxx\n"
	    "-----END PUBLIC KEY-----\n", 54, "k", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a PEM public key"));
	/* a trailing newline is not part of the secret */
	assert_int_equal(auth_set_jwt_key(a, "0123456789abcdef0123456789abcdef"
	    "-secret\n", 40, "k", err, sizeof(err)), 0);
	row(a, JWT_ALG_HS256, hs_secret, &ok_claims, AUTH_OK,
	    "secret file with a newline");
	auth_free(a);
}

/* ---------------------------------------------------------------- */
/* rate limiter */

static void
test_ratelimit(void **state)
{
	struct ratelimit	*rl = ratelimit_new(2, 3, 2);
	int			 retry, first, i;
	int64_t			 t = 1000000;

	for (i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(rl, "a", t, &retry, &first), 1);
	assert_int_equal(ratelimit_take(rl, "a", t, &retry, &first), 0);
	assert_int_equal(retry, 1);		/* 0.5 s to a token: 1 s */
	assert_int_equal(first, 1);
	assert_int_equal(ratelimit_take(rl, "a", t, &retry, &first), 0);
	assert_int_equal(first, 0);		/* audited once per burst */
	/* half a second later: one token back */
	t += 500000;
	assert_int_equal(ratelimit_take(rl, "a", t, &retry, &first), 1);
	assert_int_equal(ratelimit_take(rl, "a", t, &retry, &first), 0);
	assert_int_equal(first, 1);		/* a new burst of refusals */
	/* refill stops at the burst */
	t += 60000000;
	for (i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(rl, "a", t, &retry, &first), 1);
	assert_int_equal(ratelimit_take(rl, "a", t, &retry, &first), 0);

	/* another client has its own bucket */
	assert_int_equal(ratelimit_take(rl, "b", t, &retry, &first), 1);
	assert_int_equal(ratelimit_clients(rl), 2);
	/* a third: the table holds 2, the idle-longest client makes room */
	t += 1000;
	assert_int_equal(ratelimit_take(rl, "b", t, &retry, &first), 1);
	t += 1000;
	assert_int_equal(ratelimit_take(rl, "c", t, &retry, &first), 1);
	assert_int_equal(ratelimit_clients(rl), 2);
	/* "a" was evicted, so it is new again with a full bucket */
	for (i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(rl, "a", t, &retry, &first), 1);
	assert_int_equal(ratelimit_clients(rl), 2);

	/* slow rate: Retry-After is the whole wait */
	ratelimit_set(rl, 0.1, 1);
	t += 1000;
	assert_int_equal(ratelimit_take(rl, "z", t, &retry, &first), 1);
	assert_int_equal(ratelimit_take(rl, "z", t, &retry, &first), 0);
	assert_int_equal(retry, 10);
	/* a smaller burst applies at once, not after the bucket drains */
	ratelimit_set(rl, 2, 3);
	t += 60000000;
	assert_int_equal(ratelimit_take(rl, "z", t, &retry, &first), 1);
	ratelimit_set(rl, 2, 1);
	assert_int_equal(ratelimit_take(rl, "z", t, &retry, &first), 1);
	assert_int_equal(ratelimit_take(rl, "z", t, &retry, &first), 0);
	ratelimit_free(rl);
}

/* ---------------------------------------------------------------- */
/* query strings */

static void
test_query(void **state)
{
	struct api_query	 q;
	char			 err[256], s[128];
	int64_t			 v;

	strcpy(s, "since=12&limit=%35%30&name=a+b%2Fc&flag&&");
	assert_int_equal(api_query_parse(s, &q, err, sizeof(err)), 0);
	assert_int_equal(q.n, 4);
	assert_string_equal(api_query_get(&q, "name"), "a b/c");
	assert_string_equal(api_query_get(&q, "flag"), "");
	assert_null(api_query_get(&q, "nope"));
	assert_int_equal(api_query_int(&q, "limit", 1, 100, 7, &v, err,
	    sizeof(err)), 1);
	assert_int_equal(v, 50);
	assert_int_equal(api_query_int(&q, "absent", 1, 100, 7, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 7);
	assert_int_equal(api_query_int(&q, "since", 13, 100, 7, &v, err,
	    sizeof(err)), -1);
	assert_int_equal(api_query_int(&q, "name", 0, 100, 7, &v, err,
	    sizeof(err)), -1);
	assert_int_equal(api_query_int(&q, "flag", 0, 100, 7, &v, err,
	    sizeof(err)), -1);
	{
		static const char *const only[] = { "since", "limit", NULL };

		assert_int_equal(api_query_only(&q, only, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "'name'"));
	}
	strcpy(s, "a=1&a=2");
	assert_int_equal(api_query_parse(s, &q, err, sizeof(err)), -1);
	strcpy(s, "a=%4");
	assert_int_equal(api_query_parse(s, &q, err, sizeof(err)), -1);
	strcpy(s, "a=%00");
	assert_int_equal(api_query_parse(s, &q, err, sizeof(err)), -1);
	strcpy(s, "=1");
	assert_int_equal(api_query_parse(s, &q, err, sizeof(err)), -1);
	strcpy(s, "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13"
	    "&n=14&o=15&p=16&q=17");
	assert_int_equal(api_query_parse(s, &q, err, sizeof(err)), -1);
	assert_int_equal(api_query_parse(NULL, &q, err, sizeof(err)), 0);
	assert_int_equal(q.n, 0);
	strcpy(s, "n=-5&m=+5&h=0x10&w=%2012");
	assert_int_equal(api_query_parse(s, &q, err, sizeof(err)), 0);
	assert_int_equal(api_query_int(&q, "n", -10, 10, 0, &v, err,
	    sizeof(err)), 1);
	assert_int_equal(v, -5);
	assert_int_equal(api_query_int(&q, "m", -10, 10, 0, &v, err,
	    sizeof(err)), -1);
	assert_int_equal(api_query_int(&q, "h", 0, 100, 0, &v, err,
	    sizeof(err)), -1);
	assert_int_equal(api_query_int(&q, "w", 0, 100, 0, &v, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens_parse),
		cmocka_unit_test(test_tokens_errors),
		cmocka_unit_test(test_hash_equal),
		cmocka_unit_test(test_secrecy),
		cmocka_unit_test(test_jwt_hs256),
		cmocka_unit_test(test_jwt_duplicates_lifetime),
		cmocka_unit_test(test_jwt_rs256_es256),
		cmocka_unit_test(test_jwt_keys),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_query),
	};

	log_init("test_auth", 0);
	return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
