/* alloc.c - the library's allocation functions (one place to hook).
 *
 * By default they call the C library.  fw_set_allocator installs the
 * caller's functions instead; the one branch on `custom` is the whole cost
 * of the hook.  Live blocks are counted (a relaxed atomic) so that the
 * allocator can only be replaced while no memory obtained from the old one
 * is alive. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static fw_allocator custom_alloc;
static int custom; /* custom_alloc is in use */
static atomic_long live_blocks;

static void live_add(long d)
{
    atomic_fetch_add_explicit(&live_blocks, d, memory_order_relaxed);
}

void *fwi_malloc(size_t size)
{
    if (!size)
        size = 1;
    void *p = custom ? custom_alloc.malloc_fn(size, custom_alloc.user_data)
                     : malloc(size);
    if (p)
        live_add(1);
    return p;
}

void *fwi_calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0)
        n = size = 1;
    else if (n > SIZE_MAX / size)
        return NULL;
    void *p;
    if (!custom) {
        p = calloc(n, size);
    } else if (custom_alloc.calloc_fn) {
        p = custom_alloc.calloc_fn(n, size, custom_alloc.user_data);
    } else {
        p = custom_alloc.malloc_fn(n * size, custom_alloc.user_data);
        if (p)
            memset(p, 0, n * size);
    }
    if (p)
        live_add(1);
    return p;
}

void *fwi_realloc(void *p, size_t size)
{
    if (!size)
        size = 1;
    void *q = custom ? custom_alloc.realloc_fn(p, size, custom_alloc.user_data)
                     : realloc(p, size);
    if (q && !p)
        live_add(1);
    return q;
}

void *fwi_malloc_array(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return fwi_malloc(n * size);
}

void fwi_free(void *p)
{
    if (!p)
        return;
    live_add(-1);
    if (custom)
        custom_alloc.free_fn(p, custom_alloc.user_data);
    else
        free(p);
}

char *fwi_strndup(const char *s, size_t n)
{
    char *d = fwi_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

FW_API fw_status fw_set_allocator(const fw_allocator *allocator)
{
    fw_allocator a;
    memset(&a, 0, sizeof a);
    if (allocator) {
        if (allocator->struct_size < sizeof(fw_allocator))
            return fwi_fail(NULL, FW_E_INVALID_ARG,
                            "allocator->struct_size %u is smaller than "
                            "sizeof(fw_allocator) %zu",
                            (unsigned)allocator->struct_size,
                            sizeof(fw_allocator));
        fw_status st = fwi_params_copy(&a, sizeof a, allocator, "allocator",
                                       NULL);
        if (st != FW_OK)
            return st;
        if (!a.malloc_fn || !a.realloc_fn || !a.free_fn)
            return fwi_fail(NULL, FW_E_INVALID_ARG,
                            "allocator->%s is NULL (malloc_fn, realloc_fn "
                            "and free_fn are required)",
                            !a.malloc_fn    ? "malloc_fn"
                            : !a.realloc_fn ? "realloc_fn"
                                            : "free_fn");
    }
    long live = atomic_load_explicit(&live_blocks, memory_order_relaxed);
    if (live != 0)
        return fwi_fail(NULL, FW_E_STATE,
                        "fw_set_allocator: %ld blocks allocated by libfwinfer "
                        "are still alive (free every model, context, sampler, "
                        "stage, result and detokenizer stream first)",
                        live);
    custom_alloc = a;
    custom = allocator != NULL;
    return FW_OK;
}
