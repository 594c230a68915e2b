/* cli.h: what every porta program shares: environment set-up, the
 * --device option, --help and usage errors. */
#ifndef PORTA_CLI_H
#define PORTA_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "porta/porta.h"

/* Call first in main(): Rusticl hides its llvmpipe device unless
 * RUSTICL_ENABLE names it, so programs (never the library) set
 * RUSTICL_ENABLE=llvmpipe when the user has not set it. */
void porta_cli_prepare_environment(void);

/* An option parser's verdict: PORTA_CLI_RUN to go on, else the exit status
 * main() returns at once: PORTA_CLI_EXIT_HELP (0) after --help printed the
 * usage on stdout, PORTA_CLI_EXIT_USAGE (2) after a usage error printed
 * the reason and the usage on stderr. */
#define PORTA_CLI_RUN (-1)
#define PORTA_CLI_EXIT_HELP 0
#define PORTA_CLI_EXIT_USAGE 2

/* Whether an argument asks for the usage: "--help" or "-h". */
bool porta_cli_is_help(const char *arg);

/* --help: `usage`, then `more` (may be NULL), on stdout. Returns
 * PORTA_CLI_EXIT_HELP. */
int porta_cli_help(const char *usage, const char *more);

/* A usage error: "program: " and the formatted reason on a line, then
 * `usage` and `more` (may be NULL), on stderr. Returns
 * PORTA_CLI_EXIT_USAGE. */
int porta_cli_usage_error(const char *program, const char *usage, const char *more, const char *fmt,
                          ...) PORTA_PRINTF(4, 5);

/* Create a context and open the device named by spec (NULL: $PORTA_DEVICE
 * or the default), printing "porta: device opencl:0 ..." to stderr. On
 * failure prints the reason (with the list of devices) and returns NULL. */
porta_context *porta_cli_open_device(const char *program, const char *spec);

/* Run fn(spec, user) on the device spec names, or (spec NULL) on every
 * device found, one after another; returns the OR of fn's results, and 1
 * when the devices cannot be listed or there are none. */
int porta_cli_each_device(const char *spec, int (*fn)(const char *spec, void *user), void *user);

/* Print "program: what: status (message)" to stderr. */
void porta_cli_report(const char *program, porta_context *ctx, const char *what, porta_status st);

/* Write s to out as a JSON string (quoted and escaped; NULL as ""). */
void porta_cli_json_string(FILE *out, const char *s);

/* Write c to out as a JSON object (what porta-info and porta-check report
 * of a device's capabilities). */
void porta_cli_json_capabilities(FILE *out, const porta_device_capabilities *c);

/* Human-readable byte count ("1.5 GiB") into buf. */
const char *porta_cli_bytes(char *buf, size_t cap, unsigned long long bytes);

#endif
