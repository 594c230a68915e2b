/* safetensors_dtype.c: see safetensors_dtype.h. */
#include <string.h>

#include "io/safetensors_dtype.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
              {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
              {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8}};

size_t porta__safetensors_dtype_size(const char *name, const char **canonical)
{
    for (size_t i = 0; name && i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
        if (strcmp(name, dtypes[i].name) == 0) {
            if (canonical)
                *canonical = dtypes[i].name;
            return dtypes[i].size;
        }
    return 0;
}
