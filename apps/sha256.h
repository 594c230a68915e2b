/* sha256.h: SHA-256 (FIPS 180-4), for naming a training text in a
 * checkpoint by its content rather than by a path of the machine that
 * wrote it. */
#ifndef PORTA_APPS_SHA256_H
#define PORTA_APPS_SHA256_H

#include <stddef.h>

/* SHA-256 (FIPS 180-4) of bytes[0, size) as 64 lower-case hex digits and a
 * NUL into hex: the same digits sha256sum prints for a file of those
 * bytes. */
void porta_cli_sha256_hex(const void *bytes, size_t size, char hex[65]);

#endif
