/** @file porta/export.h
 * @brief PORTA_API: how porta's public functions are marked for export.
 *
 * The libraries are compiled with hidden visibility, so a shared
 * libporta.so exports exactly the functions declared with PORTA_API and
 * nothing of its internals. For a program that includes the headers the
 * mark changes nothing.
 */
#ifndef PORTA_EXPORT_H
#define PORTA_EXPORT_H

/** @def PORTA_API
 * Marks a public function: exported from the shared library. */
/** @def PORTA_PRINTF
 * Marks a function taking printf-style arguments (the format is argument
 * `fmt`, the values start at argument `first`) so the compiler checks
 * them. */
#if defined(__GNUC__) || defined(__clang__)
#define PORTA_API __attribute__((visibility("default")))
#define PORTA_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define PORTA_API
#define PORTA_PRINTF(fmt, first)
#endif

#endif
