/* data_file.h: reading data-set files that may be gzip-compressed.
 *
 * A data file is opened once and read front to back. Whether it is gzip is
 * decided by its first two bytes (1f 8b), never by its name. Every failure
 * sets a message that names the file: a short read says what was being
 * read, how many bytes were expected and how many arrived. */
#ifndef PORTA_DATA_FILE_H
#define PORTA_DATA_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "train_internal.h"

typedef struct porta__data_file {
    const char *path;
    FILE *plain;   /* a plain file, or NULL */
    void *gz;      /* a gzFile, or NULL */
    uint64_t size; /* plain files: the size on disk; gzip: 0 (unknown) */
    uint64_t pos;  /* uncompressed bytes read so far */
    int cut;       /* gzip: the stream ended without its end marker and checksum */
} porta__data_file;

/* Open path (PORTA_ERROR_IO if it cannot be opened). */
porta_status porta__data_open(porta__data_file *df, const char *path, porta_context *ctx);

/* Read exactly n bytes of `what` ("header", "pixels"). Fewer is
 * PORTA_ERROR_CORRUPT_DATA: "is empty" if nothing at all was in the file,
 * else "truncated: expected N bytes of WHAT at offset O, got M". */
porta_status porta__data_read(porta__data_file *df, void *buf, size_t n, const char *what,
                              porta_context *ctx);

/* Fail with PORTA_ERROR_CORRUPT_DATA if anything follows the current
 * position ("trailing bytes after WHAT"). */
porta_status porta__data_expect_end(porta__data_file *df, const char *what, porta_context *ctx);

/* Read everything from the current position to the end into *data
 * (malloc'ed, caller frees; NULL when *bytes is 0). A gzip stream cut
 * short is PORTA_ERROR_CORRUPT_DATA. */
porta_status porta__data_read_rest(porta__data_file *df, uint8_t **data, size_t *bytes,
                                   porta_context *ctx);

/* Close (safe on a zeroed or already closed file). */
void porta__data_close(porta__data_file *df);

#endif
