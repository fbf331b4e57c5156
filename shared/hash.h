/*
 * hash.h - SHA-256 and token helpers (OpenSSL underneath) shared by the
 * agent's auth and audit chain and the console's token handling.
 */
#ifndef VANTAGE_HASH_H
#define VANTAGE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_HEX_LEN	64	/* SHA-256 in hex, without NUL */

/* hex must hold HASH_HEX_LEN + 1 bytes. */
void	hash_sha256_hex(const void *, size_t, char *hex);
/* FNV-1a of a string: a fast, non-cryptographic hash for tables. */
uint32_t hash_fnv1a(const char *);
/* Constant-time comparison of two equally long strings; 1 if equal. */
int	hash_equal(const char *, const char *);
/* A new random token: "vt_" + 43 base64url characters; buf >= 48. */
int	hash_random_token(char *buf, size_t len);

#endif
