// LINK: agent/auth.c shared/json.c shared/hash.c shared/log.c shared/text.c shared/buf.c
/*
 * fuzz_jwt.c - credential checking (auth.c): the Authorization header
 * against static tokens and JWT keys of every kind, the tokens file
 * parser and the JWT key loader.
 *
 * Input: one byte choosing what to fuzz, then the text.  Selectors 0-3
 * check a header against an auth with tokens only, an HS256 secret, an
 * RSA key or a P-256 key (bit 3 prefixes "Bearer " to get deeper
 * faster); 4 parses a tokens file; 5 loads a JWT key.  Checked: an
 * accepted credential has a real role and a clean actor, a refusal
 * leaves no role behind, and every result has its message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hash.h"
#include "vantaged.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* tests/fuzz/corpus/fuzz_jwt has JWTs signed with this secret */
static const char	 fuzz_secret[] = "vantage-fuzz-secret-0123456789abcdef";
static struct auth	*auths[4];

static char *
pubpem(EVP_PKEY *pk, size_t *len)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *out;
	long	 n;

	if (b == NULL || PEM_write_bio_PUBKEY(b, pk) != 1)
		abort();
	n = BIO_get_mem_data(b, &p);
	out = xmalloc((size_t)n + 1);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(b);
	return out;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char		 hex[HASH_HEX_LEN + 1], tokens[256], err[512], *pem;
	EVP_PKEY	*pk;
	size_t		 len;
	int		 i;

	log_init("fuzz_jwt", 0);
	hash_sha256_hex("vt_fuzz", 7, hex);
	snprintf(tokens, sizeof(tokens), "fuzz viewer %s\n", hex);
	for (i = 0; i < 4; i++) {
		auths[i] = auth_new();
		if (auth_parse_tokens(auths[i], tokens, strlen(tokens), "t",
		    err, sizeof(err)) == -1)
			abort();
	}
	if (auth_set_jwt_key(auths[1], fuzz_secret, strlen(fuzz_secret), "k",
	    err, sizeof(err)) == -1)
		abort();
	pk = EVP_RSA_gen(2048);
	pem = pubpem(pk, &len);
	if (auth_set_jwt_key(auths[2], pem, len, "k", err, sizeof(err)) == -1)
		abort();
	free(pem);
	EVP_PKEY_free(pk);
	pk = EVP_EC_gen("P-256");
	pem = pubpem(pk, &len);
	if (auth_set_jwt_key(auths[3], pem, len, "k", err, sizeof(err)) == -1)
		abort();
	free(pem);
	EVP_PKEY_free(pk);
	return 0;
}

static void
check_header(const struct auth *a, const char *hdr)
{
	struct auth_who	 who;
	enum auth_result r;
	size_t		 i;

	r = auth_check(a, hdr, 1800000000, &who);
	if (strcmp(auth_result_str(r), "?") == 0)
		abort();
	if (r != AUTH_OK) {
		if (who.role != ROLE_NONE || who.actor[0] != '\0')
			abort();
		return;
	}
	if (who.role < ROLE_VIEWER || who.role > ROLE_ADMIN)
		abort();
	if (who.actor[0] == '\0' || strlen(who.actor) > AUTH_ACTOR_MAX)
		abort();
	for (i = 0; who.actor[i] != '\0'; i++)
		if ((unsigned char)who.actor[i] <= 0x20 ||
		    (unsigned char)who.actor[i] >= 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth	*a;
	char		*s, err[512];
	int		 sel;

	if (size < 1 || size > 16384)
		return 0;
	sel = data[0];
	s = xmalloc(size + 8);
	if ((sel & 7) < 4 && (sel & 8)) {
		memcpy(s, "Bearer ", 7);
		memcpy(s + 7, data + 1, size - 1);
		s[size + 6] = '\0';
	} else {
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
	}
	switch (sel & 7) {
	case 0:
	case 1:
	case 2:
	case 3:
		check_header(auths[sel & 3], s);
		break;
	case 4:
		a = auth_new();
		if (auth_parse_tokens(a, (const char *)data + 1, size - 1, "t",
		    err, sizeof(err)) == 0)
			check_header(a, "Bearer vt_fuzz");
		else if (strncmp(err, "t:", 2) != 0)
			abort();	/* every error names file:line */
		auth_free(a);
		break;
	default:
		a = auth_new();
		if (auth_set_jwt_key(a, data + 1, size - 1, "k", err,
		    sizeof(err)) == 0 && auth_jwt_alg(a) == NULL)
			abort();
		auth_free(a);
		break;
	}
	free(s);
	return 0;
}
