/* atomic_file.h: whole-file reads and crash-safe whole-file writes. */
#ifndef PORTA_ATOMIC_FILE_H
#define PORTA_ATOMIC_FILE_H

#include <stddef.h>

#include "backend.h"

/* Write `bytes` to `path` so that a reader sees either the old file or the
 * complete new one, never a mix: write "<path>.tmp.<pid>", fsync it, rename
 * it over path, fsync the directory. Errors name the file and the step. */
porta_status porta__write_file_atomic(const char *path, const void *data, size_t bytes,
                                      porta_msg *msg);

/* Read a whole file into *data (malloc'ed, caller frees). */
porta_status porta__read_file(const char *path, void **data, size_t *bytes, porta_msg *msg);

#endif
