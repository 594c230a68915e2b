/* safetensors_dtype.h: the safetensors dtype names and their sizes, shared
 * by the writer and the reader. */
#ifndef PORTA_IO_SAFETENSORS_DTYPE_H
#define PORTA_IO_SAFETENSORS_DTYPE_H

#include <stddef.h>

/* The size in bytes of one element of dtype `name` ("F32": 4), and in
 * *canonical (may be NULL) the table's own copy of the name, which lives
 * forever. 0 if the name is not a safetensors dtype porta knows. */
size_t porta__safetensors_dtype_size(const char *name, const char **canonical);

#endif
