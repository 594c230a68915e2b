/* message.h: the per-context message buffer, the one thing lib/ and the
 * backends share besides the status codes.
 *
 * Every failure in porta is a porta_status and a sentence in one of these
 * buffers that names the call, the value and the driver's own error. The
 * backends write into the context's buffer through the pointer lib/ hands
 * them; the training toolkit fills one of its own and copies it into the
 * context with porta_context_set_message().
 */
#ifndef PORTA_COMMON_MESSAGE_H
#define PORTA_COMMON_MESSAGE_H

#include <stdarg.h>

#include "porta/status.h"

#define PORTA_MSG_CAPACITY 16384

/* A per-context message buffer; the text is always NUL-terminated. */
typedef struct porta_msg {
    char text[PORTA_MSG_CAPACITY];
} porta_msg;

/* Replace the message with a formatted one (truncated with a marker if it
 * does not fit). Returns status, so a failure path reads
 * `return porta_msg_set(msg, PORTA_ERROR_DRIVER, "clFoo: %s", name);`. */
porta_status porta_msg_set(porta_msg *msg, porta_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* porta_msg_set with a va_list. */
porta_status porta_msg_vset(porta_msg *msg, porta_status status, const char *fmt, va_list ap);
/* Append formatted text to the message (same truncation rule). */
void porta_msg_append(porta_msg *msg, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
