/* atomic_file.h: whole-file reads and crash-safe whole-file writes. */
#ifndef PORTA_ATOMIC_FILE_H
#define PORTA_ATOMIC_FILE_H

#include <stddef.h>

#include "common/message.h"

/* Write `bytes` to `path` so that a reader sees either the old file or the
 * complete new one, never a mix: write "<path>.tmp.<pid>", fsync it, rename
 * it over path, fsync the directory. Errors name the file and the step. */
porta_status porta__write_file_atomic(const char *path, const void *data, size_t bytes,
                                      porta_msg *msg);

/* One piece of a file written by porta__write_file_atomic_parts(). */
typedef struct porta__file_piece {
    const void *data;
    size_t bytes;
} porta__file_piece;

/* porta__write_file_atomic() of the concatenation of n pieces, written one
 * after the other (no copy into one buffer). On failure the temporary file
 * is removed and path is untouched. */
porta_status porta__write_file_atomic_parts(const char *path, const porta__file_piece *pieces,
                                            size_t n, porta_msg *msg);

/* Read a whole file into *data (malloc'ed, caller frees). */
porta_status porta__read_file(const char *path, void **data, size_t *bytes, porta_msg *msg);

#endif
