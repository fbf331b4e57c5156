/*
 * hash.c - SHA-256, constant-time compare and random tokens.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hash.h"
#include "log.h"

void
hash_sha256_hex(const void *p, size_t n, char *hex)
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		fatalx("%s: EVP_Digest failed", __func__);
	for (i = 0; i < mdlen; i++) {
		hex[i * 2] = digits[md[i] >> 4];
		hex[i * 2 + 1] = digits[md[i] & 15];
	}
	hex[HASH_HEX_LEN] = '\0';
}

uint32_t
hash_fnv1a(const char *s)
{
	uint32_t	h = 2166136261u;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

int
hash_equal(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

int
hash_random_token(char *buf, size_t len)
{
	static const char	 b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char		 raw[43];
	size_t			 i;

	if (len < 3 + sizeof(raw) + 1 || RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	memcpy(buf, "vt_", 3);
	for (i = 0; i < sizeof(raw); i++)
		buf[3 + i] = b64[raw[i] & 63];
	buf[3 + sizeof(raw)] = '\0';
	return 0;
}
