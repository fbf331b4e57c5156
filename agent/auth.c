/*
 * auth.c - who is calling the API.
 *
 * Two kinds of credential, both sent as "Authorization: Bearer X":
 *  - static tokens from the tokens file ("NAME ROLE SHA256HEX" lines):
 *    only the SHA-256 of a token is kept, the presented token is hashed
 *    and compared with every entry in constant time;
 *  - JWTs (libjwt) verified with [api] jwt_key: an HS256 secret or an
 *    RS256/ES256 public key.  The algorithm is fixed by the key, never
 *    by the token: "none" and a token that names another algorithm are
 *    refused before libjwt sees them (libjwt 1.10 would otherwise accept
 *    an HS256 token signed with the RSA public key as secret).  exp is
 *    required and at most [api] jwt_max_lifetime ahead, nbf honoured,
 *    both with AUTH_LEEWAY_S of clock skew.  A header or claims object
 *    that repeats a key is refused before the signature is looked at.
 *
 * A loaded struct auth is read-only, so the API threads share it; a
 * reload builds a new one and api.c swaps the pointer.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cJSON.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hash.h"
#include "json.h"
#include "vantaged.h"

#define AUTH_FILE_MAX		(1024 * 1024)
#define AUTH_SECRET_MIN		32	/* bytes of an HS256 secret */
#define AUTH_RSA_MIN_BITS	2048

struct auth_token {
	char		 name[AUTH_ACTOR_MAX + 1];
	enum api_role	 role;
	char		 hash[HASH_HEX_LEN + 1];
};

struct auth {
	struct auth_token	*tok;
	size_t			 n;
	unsigned char		*key;		/* PEM or secret */
	size_t			 keylen;
	jwt_alg_t		 alg;
	const char		*alg_name;	/* "HS256" ... or NULL */
	int64_t			 max_lifetime_s;	/* exp at most now + this */
};

const char *
auth_result_str(enum auth_result r)
{
	switch (r) {
	case AUTH_OK:
		return "ok";
	case AUTH_MISSING:
		return "no Authorization: Bearer header";
	case AUTH_MALFORMED:
		return "Authorization header is not \"Bearer CREDENTIAL\"";
	case AUTH_NO_CREDENTIALS:
		return "no tokens or jwt_key configured on this agent";
	case AUTH_UNKNOWN_TOKEN:
		return "unknown token";
	case AUTH_JWT_DISABLED:
		return "JWT presented but no jwt_key configured";
	case AUTH_JWT_MALFORMED:
		return "malformed JWT";
	case AUTH_JWT_ALG:
		return "JWT algorithm does not match the key";
	case AUTH_JWT_SIGNATURE:
		return "JWT signature does not verify";
	case AUTH_JWT_NO_EXP:
		return "JWT has no exp claim";
	case AUTH_JWT_EXPIRED:
		return "JWT expired";
	case AUTH_JWT_NOT_YET:
		return "JWT not valid yet (nbf)";
	case AUTH_JWT_SUB:
		return "JWT sub claim missing or not a clean name";
	case AUTH_JWT_ROLE:
		return "JWT role claim missing or not viewer, operator or admin";
	case AUTH_JWT_DUPLICATE:
		return "JWT header or claims repeat a key";
	case AUTH_JWT_LIFETIME:
		return "JWT exp further ahead than jwt_max_lifetime";
	}
	return "?";
}

int
auth_role_parse(const char *s, enum api_role *role)
{
	if (strcmp(s, "viewer") == 0)
		*role = ROLE_VIEWER;
	else if (strcmp(s, "operator") == 0)
		*role = ROLE_OPERATOR;
	else if (strcmp(s, "admin") == 0)
		*role = ROLE_ADMIN;
	else
		return -1;
	return 0;
}

struct auth *
auth_new(void)
{
	struct auth	*a = xcalloc(1, sizeof(struct auth));

	a->max_lifetime_s = AUTH_MAX_LIFETIME_S;
	return a;
}

void
auth_set_max_lifetime(struct auth *a, int64_t seconds)
{
	a->max_lifetime_s = seconds;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	free(a->tok);
	if (a->key != NULL) {
		OPENSSL_cleanse(a->key, a->keylen);
		free(a->key);
	}
	free(a);
}

size_t
auth_n_tokens(const struct auth *a)
{
	return a->n;
}

const char *
auth_jwt_alg(const struct auth *a)
{
	return a->alg_name;
}

/* relayd's check_file_secrecy(): a secret nobody else may read. */
static int
auth_secrecy(const char *path, const struct stat *st, char *err,
    size_t errlen)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, expected root or "
		    "uid %u", path, (unsigned)st->st_uid, (unsigned)geteuid());
		return -1;
	}
	if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "%s: group or others can access it "
		    "(mode %03o); it holds secrets: chmod 600 %s", path,
		    (unsigned)(st->st_mode & 0777), path);
		return -1;
	}
	return 0;
}

static char *
auth_read(const char *path, struct stat *st, size_t *lenp, char *err,
    size_t errlen)
{
	char	*data = NULL;
	size_t	 len = 0;
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (st->st_size > AUTH_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    AUTH_FILE_MAX);
		goto fail;
	}
	data = xmalloc((size_t)st->st_size + 1);
	while (len < (size_t)st->st_size) {
		r = read(fd, data + len, (size_t)st->st_size - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	data[len] = '\0';
	close(fd);
	*lenp = len;
	return data;
fail:
	free(data);
	close(fd);
	return NULL;
}

char *
auth_read_file(const char *path, int secret, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*data;

	if ((data = auth_read(path, &st, lenp, err, errlen)) == NULL)
		return NULL;
	if (secret && auth_secrecy(path, &st, err, errlen) == -1) {
		OPENSSL_cleanse(data, *lenp);
		free(data);
		return NULL;
	}
	return data;
}

int
auth_check_secret(const char *path, char *err, size_t errlen)
{
	struct stat	st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	return auth_secrecy(path, &st, err, errlen);
}

static int
auth_name_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!isalnum((unsigned char)s[i]) && strchr("-_.@", s[i]) ==
		    NULL)
			return 0;
	}
	return i > 0 && i <= AUTH_ACTOR_MAX;
}

int
auth_parse_tokens(struct auth *a, const char *text, size_t len,
    const char *fname, char *err, size_t errlen)
{
	struct auth_token	*tok = NULL;
	size_t			 n = 0, i, ll;
	const char		*p = text, *end = text + len, *nl;
	char			 line[512], *f[4], *save, *w;
	int			 lineno = 0, nf;

	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		ll = (size_t)(nl - p);
		if (ll >= sizeof(line)) {
			snprintf(err, errlen, "%s:%d: line too long", fname,
			    lineno);
			goto fail;
		}
		memcpy(line, p, ll);
		line[ll] = '\0';
		p = nl < end ? nl + 1 : end;
		if (memchr(line, '\0', ll) != NULL) {
			snprintf(err, errlen, "%s:%d: NUL byte", fname, lineno);
			goto fail;
		}
		if ((w = strchr(line, '#')) != NULL)
			*w = '\0';
		nf = 0;
		for (w = strtok_r(line, " \t\r", &save); w != NULL;
		    w = strtok_r(NULL, " \t\r", &save)) {
			if (nf == 4)
				break;
			f[nf++] = w;
		}
		if (nf == 0)
			continue;
		if (nf != 3) {
			snprintf(err, errlen, "%s:%d: expected \"NAME ROLE "
			    "SHA256HEX\" (vantaged token NAME ROLE prints "
			    "one)", fname, lineno);
			goto fail;
		}
		if (!auth_name_ok(f[0])) {
			snprintf(err, errlen, "%s:%d: token name '%.64s': use "
			    "letters, digits, '.', '-', '_', '@' (at most %d)",
			    fname, lineno, f[0], AUTH_ACTOR_MAX);
			goto fail;
		}
		tok = xreallocarray(tok, n + 1, sizeof(*tok));
		memset(&tok[n], 0, sizeof(tok[n]));
		if (auth_role_parse(f[1], &tok[n].role) == -1) {
			snprintf(err, errlen, "%s:%d: role '%.32s': expected "
			    "viewer, operator or admin", fname, lineno, f[1]);
			goto fail;
		}
		if (strlen(f[2]) != HASH_HEX_LEN || strspn(f[2],
		    "0123456789abcdefABCDEF") != HASH_HEX_LEN) {
			snprintf(err, errlen, "%s:%d: expected the SHA-256 of "
			    "the token in hex (64 digits), not the token itself",
			    fname, lineno);
			goto fail;
		}
		for (i = 0; i < n; i++) {
			if (strcmp(tok[i].name, f[0]) == 0) {
				snprintf(err, errlen, "%s:%d: token name '%s' "
				    "used twice", fname, lineno, f[0]);
				goto fail;
			}
		}
		strlcpy_v(tok[n].name, f[0], sizeof(tok[n].name));
		for (i = 0; i < HASH_HEX_LEN; i++)
			tok[n].hash[i] = (char)tolower((unsigned char)f[2][i]);
		tok[n].hash[HASH_HEX_LEN] = '\0';
		n++;
	}
	free(a->tok);
	a->tok = tok;
	a->n = n;
	return 0;
fail:
	free(tok);
	return -1;
}

int
auth_load_tokens(struct auth *a, const char *path, char *err, size_t errlen)
{
	char	*text;
	size_t	 len;
	int	 rc;

	if ((text = auth_read_file(path, 1, &len, err, errlen)) == NULL)
		return -1;
	rc = auth_parse_tokens(a, text, len, path, err, errlen);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

/* A PEM public key: its algorithm, or -1 + err. */
static int
auth_pem_alg(const void *pem, size_t len, const char *fname,
    jwt_alg_t *alg, const char **name, char *err, size_t errlen)
{
	BIO		*bio;
	EVP_PKEY	*pk = NULL;
	char		 group[64];
	size_t		 glen = 0;
	int		 rc = -1;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		fatalx("%s: out of memory", __func__);
	pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pk == NULL) {
		snprintf(err, errlen, "%s: not a PEM public key (\"BEGIN PUBLIC "
		    "KEY\"; for HS256 give the secret itself)", fname);
		return -1;
	}
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pk) < AUTH_RSA_MIN_BITS) {
			snprintf(err, errlen, "%s: RSA key of %d bits, at least "
			    "%d needed", fname, EVP_PKEY_get_bits(pk),
			    AUTH_RSA_MIN_BITS);
			goto fail;
		}
		*alg = JWT_ALG_RS256;
		*name = "RS256";
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) !=
		    1 || strcmp(group, "prime256v1") != 0) {
			snprintf(err, errlen, "%s: ES256 needs a P-256 "
			    "(prime256v1) key", fname);
			goto fail;
		}
		*alg = JWT_ALG_ES256;
		*name = "ES256";
		break;
	default:
		snprintf(err, errlen, "%s: public key type not supported "
		    "(RSA for RS256 or P-256 for ES256)", fname);
		goto fail;
	}
	rc = 0;
fail:
	EVP_PKEY_free(pk);
	return rc;
}

int
auth_set_jwt_key(struct auth *a, const void *key, size_t len,
    const char *fname, char *err, size_t errlen)
{
	jwt_alg_t	 alg;
	const char	*name;

	if (memmem(key, len, "-----BEGIN", 10) != NULL) {
		if (memmem(key, len, "PRIVATE KEY-----", 16) != NULL) {
			snprintf(err, errlen, "%s: a private key; give the "
			    "public key (openssl pkey -in KEY -pubout)", fname);
			return -1;
		}
		if (auth_pem_alg(key, len, fname, &alg, &name, err, errlen) ==
		    -1)
			return -1;
	} else {
		/* a secret in a text file usually ends with a newline */
		while (len > 0 && (((const char *)key)[len - 1] == '\n' ||
		    ((const char *)key)[len - 1] == '\r'))
			len--;
		if (len < AUTH_SECRET_MIN) {
			snprintf(err, errlen, "%s: HS256 secret of %zu bytes, "
			    "at least %d needed", fname, len, AUTH_SECRET_MIN);
			return -1;
		}
		alg = JWT_ALG_HS256;
		name = "HS256";
	}
	if (a->key != NULL) {
		OPENSSL_cleanse(a->key, a->keylen);
		free(a->key);
	}
	a->key = xmalloc(len + 1);
	memcpy(a->key, key, len);
	a->key[len] = '\0';
	a->keylen = len;
	a->alg = alg;
	a->alg_name = name;
	return 0;
}

int
auth_load_jwt_key(struct auth *a, const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	char		*data;
	size_t		 len;
	int		 rc = -1;

	if ((data = auth_read(path, &st, &len, err, errlen)) == NULL)
		return -1;
	/* a public key may be world-readable, a secret may not */
	if (memmem(data, len, "-----BEGIN", 10) == NULL &&
	    auth_secrecy(path, &st, err, errlen) == -1)
		goto fail;
	rc = auth_set_jwt_key(a, data, len, path, err, errlen);
fail:
	OPENSSL_cleanse(data, len);
	free(data);
	return rc;
}

/* base64url without padding; -1 on a bad character. */
static int
auth_b64url(const char *s, size_t n, unsigned char *out, size_t outlen,
    size_t *olen)
{
	uint32_t	acc = 0;
	size_t		i, o = 0;
	int		bits = 0, v;
	char		c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '-')
			v = 62;
		else if (c == '_')
			v = 63;
		else
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == outlen)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*olen = o;
	return 0;
}

/*
 * One base64url segment of a JWT as a JSON object.  Parsed here, before
 * anything is verified, because libjwt (jansson) takes the last of two
 * equal keys where cJSON takes the first: {"alg":"RS256","alg":"HS256"}
 * would pass the algorithm check on one and be verified with the other.
 * So a repeated key, or anything after the object, refuses the token.
 */
static enum auth_result
auth_jwt_segment(const char *seg, size_t n, cJSON **out)
{
	unsigned char	*raw;
	char		 err[128];
	size_t		 len;
	cJSON		*j;
	enum auth_result r = AUTH_JWT_MALFORMED;

	*out = NULL;
	raw = xmalloc(n);	/* base64 only shrinks */
	if (auth_b64url(seg, n, raw, n, &len) == -1 ||
	    (j = json_parse_object((const char *)raw, len, err,
	    sizeof(err))) == NULL)
		goto done;
	if (json_unique_keys(j, err, sizeof(err)) == -1) {
		cJSON_Delete(j);
		r = AUTH_JWT_DUPLICATE;
		goto done;
	}
	*out = j;
	r = AUTH_OK;
done:
	OPENSSL_cleanse(raw, n);
	free(raw);
	return r;
}

/* The "alg" of the JOSE header; the claims must be sound JSON too. */
static enum auth_result
auth_jwt_precheck(const char *tok, char *alg, size_t alglen)
{
	const char	*dot1, *dot2;
	const cJSON	*it;
	cJSON		*hdr = NULL, *claims = NULL;
	enum auth_result r;

	if ((dot1 = strchr(tok, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL)
		return AUTH_JWT_MALFORMED;
	if ((r = auth_jwt_segment(tok, (size_t)(dot1 - tok), &hdr)) !=
	    AUTH_OK)
		goto done;
	if ((r = auth_jwt_segment(dot1 + 1, (size_t)(dot2 - dot1 - 1),
	    &claims)) != AUTH_OK)
		goto done;
	it = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
	if (!cJSON_IsString(it) || strlen(it->valuestring) >= alglen) {
		r = AUTH_JWT_MALFORMED;
		goto done;
	}
	strlcpy_v(alg, it->valuestring, alglen);
done:
	cJSON_Delete(hdr);
	cJSON_Delete(claims);
	return r;
}

static enum auth_result
auth_jwt(const struct auth *a, const char *tok, int64_t now,
    struct auth_who *who)
{
	jwt_t		*jwt = NULL;
	cJSON		*claims = NULL;
	const cJSON	*exp, *nbf, *sub, *role;
	char		 alg[16], *grants = NULL;
	enum auth_result r;

	if (a->key == NULL)
		return AUTH_JWT_DISABLED;
	if ((r = auth_jwt_precheck(tok, alg, sizeof(alg))) != AUTH_OK)
		return r;
	if (strcmp(alg, a->alg_name) != 0)
		return AUTH_JWT_ALG;
	if (jwt_decode(&jwt, tok, a->key, (int)a->keylen) != 0 || jwt == NULL)
		return AUTH_JWT_SIGNATURE;
	if (jwt_get_alg(jwt) != a->alg) {
		r = AUTH_JWT_ALG;
		goto done;
	}
	if ((grants = jwt_get_grants_json(jwt, NULL)) == NULL ||
	    (claims = cJSON_Parse(grants)) == NULL || !cJSON_IsObject(claims)) {
		r = AUTH_JWT_MALFORMED;
		goto done;
	}
	exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	nbf = cJSON_GetObjectItemCaseSensitive(claims, "nbf");
	sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
	role = cJSON_GetObjectItemCaseSensitive(claims, "role");
	if (!cJSON_IsNumber(exp) || !isfinite(exp->valuedouble)) {
		r = AUTH_JWT_NO_EXP;
		goto done;
	}
	if (exp->valuedouble + AUTH_LEEWAY_S < (double)now) {
		r = AUTH_JWT_EXPIRED;
		goto done;
	}
	/* a stolen token must not be good for a year */
	if (exp->valuedouble > (double)now + (double)a->max_lifetime_s +
	    AUTH_LEEWAY_S) {
		r = AUTH_JWT_LIFETIME;
		goto done;
	}
	if (nbf != NULL && (!cJSON_IsNumber(nbf) ||
	    !isfinite(nbf->valuedouble) ||
	    nbf->valuedouble - AUTH_LEEWAY_S > (double)now)) {
		r = AUTH_JWT_NOT_YET;
		goto done;
	}
	if (!cJSON_IsString(sub) || !auth_name_ok(sub->valuestring)) {
		r = AUTH_JWT_SUB;
		goto done;
	}
	if (!cJSON_IsString(role) || auth_role_parse(role->valuestring,
	    &who->role) == -1) {
		r = AUTH_JWT_ROLE;
		goto done;
	}
	strlcpy_v(who->actor, sub->valuestring, sizeof(who->actor));
	r = AUTH_OK;
done:
	cJSON_Delete(claims);
	free(grants);
	jwt_free(jwt);
	return r;
}

static enum auth_result
auth_static(const struct auth *a, const char *tok, struct auth_who *who)
{
	char	hex[HASH_HEX_LEN + 1];
	size_t	i, found = (size_t)-1;

	hash_sha256_hex(tok, strlen(tok), hex);
	/* every entry, without stopping at a match: no timing hint */
	for (i = 0; i < a->n; i++) {
		if (hash_equal(hex, a->tok[i].hash))
			found = i;
	}
	if (found == (size_t)-1)
		return AUTH_UNKNOWN_TOKEN;
	who->role = a->tok[found].role;
	strlcpy_v(who->actor, a->tok[found].name, sizeof(who->actor));
	return AUTH_OK;
}

enum auth_result
auth_check(const struct auth *a, const char *authz, int64_t now_s,
    struct auth_who *who)
{
	const char	*p;
	char		*tok;
	size_t		 n, i, dots = 0;
	enum auth_result r;

	who->role = ROLE_NONE;
	who->actor[0] = '\0';
	if (authz == NULL || *authz == '\0')
		return AUTH_MISSING;
	if (strncasecmp(authz, "Bearer ", 7) != 0)
		return AUTH_MALFORMED;
	for (p = authz + 7; *p == ' ' || *p == '\t'; p++)
		;
	for (n = strlen(p); n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t');
	    n--)
		;
	if (n == 0 || n > AUTH_CRED_MAX)
		return AUTH_MALFORMED;
	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return AUTH_MALFORMED;
		if (p[i] == '.')
			dots++;
	}
	if (a == NULL || (a->n == 0 && a->key == NULL))
		return AUTH_NO_CREDENTIALS;
	tok = xmalloc(n + 1);
	memcpy(tok, p, n);
	tok[n] = '\0';
	/* static tokens are "vt_" + base64url: a JWT has exactly two dots */
	if (dots == 2)
		r = auth_jwt(a, tok, now_s, who);
	else
		r = auth_static(a, tok, who);
	OPENSSL_cleanse(tok, n);
	free(tok);
	if (r != AUTH_OK) {
		who->role = ROLE_NONE;
		who->actor[0] = '\0';
	}
	return r;
}
