/* train_internal.h: what the training toolkit's files share. Not installed.
 *
 * The toolkit is a library of its own above the core: it sees the core
 * only through porta/porta.h, so it reports a failure with
 * porta_context_set_message() rather than by writing the context's
 * message buffer itself.
 */
#ifndef PORTA_TRAIN_INTERNAL_H
#define PORTA_TRAIN_INTERNAL_H

#include <stddef.h>

#include "porta/train.h"

/* The shared whole-file helpers (io/atomic_file.h), reporting into the
 * context's message. train_files.c */
porta_status porta__train_read_file(porta_context *ctx, const char *path, void **data,
                                    size_t *bytes);
porta_status porta__train_write_file_atomic(porta_context *ctx, const char *path, const void *data,
                                            size_t bytes);

#endif
