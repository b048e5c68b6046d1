/* alloc.c - the library's allocation functions (one place to hook). */
#include <stdlib.h>
#include <string.h>

#include "core.h"

void *fwi_malloc(size_t size) { return malloc(size ? size : 1); }

void *fwi_calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0)
        return calloc(1, 1);
    return calloc(n, size);
}

void *fwi_realloc(void *p, size_t size) { return realloc(p, size ? size : 1); }

void *fwi_malloc_array(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return fwi_malloc(n * size);
}

void fwi_free(void *p) { free(p); }

char *fwi_strndup(const char *s, size_t n)
{
    char *d = fwi_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
