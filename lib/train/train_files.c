/* train_files.c: the shared whole-file helpers, with their failures copied
 * into the context's message. */
#include "io/atomic_file.h"
#include "train_internal.h"

static porta_status report(porta_context *ctx, porta_status st, const porta_msg *msg)
{
    return st == PORTA_OK ? st : porta_context_set_message(ctx, st, "%s", msg->text);
}

porta_status porta__train_read_file(porta_context *ctx, const char *path, void **data,
                                    size_t *bytes)
{
    porta_msg msg;
    msg.text[0] = '\0';
    return report(ctx, porta__read_file(path, data, bytes, &msg), &msg);
}

porta_status porta__train_write_file_atomic(porta_context *ctx, const char *path, const void *data,
                                            size_t bytes)
{
    porta_msg msg;
    msg.text[0] = '\0';
    return report(ctx, porta__write_file_atomic(path, data, bytes, &msg), &msg);
}
