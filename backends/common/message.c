/* message.c: the per-context message buffer every backend writes into. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/message.h"

static const char truncated_marker[] = "\n[message truncated]";

static void mark_truncated(porta_msg *msg)
{
    size_t at = sizeof(msg->text) - sizeof(truncated_marker);
    memcpy(msg->text + at, truncated_marker, sizeof(truncated_marker));
}

static void vappend(porta_msg *msg, size_t start, const char *fmt, va_list ap)
{
    size_t room = sizeof(msg->text) - start;
    int n = vsnprintf(msg->text + start, room, fmt, ap);
    if (n < 0)
        msg->text[start] = '\0';
    else if ((size_t)n >= room)
        mark_truncated(msg);
}

porta_status porta_msg_vset(porta_msg *msg, porta_status status, const char *fmt, va_list ap)
{
    if (msg)
        vappend(msg, 0, fmt, ap);
    return status;
}

porta_status porta_msg_set(porta_msg *msg, porta_status status, const char *fmt, ...)
{
    if (!msg)
        return status;
    va_list ap;
    va_start(ap, fmt);
    vappend(msg, 0, fmt, ap);
    va_end(ap);
    return status;
}

void porta_msg_append(porta_msg *msg, const char *fmt, ...)
{
    if (!msg)
        return;
    size_t len = strnlen(msg->text, sizeof(msg->text) - 1);
    if (len + 1 >= sizeof(msg->text))
        return;
    va_list ap;
    va_start(ap, fmt);
    vappend(msg, len, fmt, ap);
    va_end(ap);
}
