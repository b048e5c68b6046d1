/*
 * core.h - internal helpers shared by the whole library: error reporting,
 * logging, allocation, caller-buffer output.
 */
#ifndef FWI_CORE_H
#define FWI_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "fwinfer.h"

#if defined(__GNUC__)
#define FWI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FWI_PRINTF(f, a)
#endif

#define FWI_ERRMSG_CAP 512

/* Record a failure: formats the message into the calling thread's last-error
 * slot, remembers which handle it concerned (NULL for none) and returns
 * `status` so callers can write `return fwi_fail(...)`. */
fw_status fwi_fail(const void *handle, fw_status status, const char *fmt, ...)
    FWI_PRINTF(3, 4);
fw_status fwi_failv(const void *handle, fw_status status, const char *fmt,
                    va_list ap);

/* The calling thread's last message if it concerned `handle`, else "". */
const char *fwi_errmsg_for(const void *handle);

/* Re-attribute the calling thread's last message to `handle` (used when an
 * inner call failed before the handle existed). */
void fwi_error_set_handle(const void *handle);

/* Logging through a user callback; silent when fn is NULL. */
typedef struct fwi_logger {
    fw_log_fn fn;
    void *user_data;
    int32_t level;
} fwi_logger;

void fwi_log(const fwi_logger *lg, int32_t level, const char *fmt, ...)
    FWI_PRINTF(3, 4);

/* Allocation: every allocation of the library goes through these, so tests
 * can inject failures.  Sizes are checked for overflow. */
void *fwi_malloc(size_t size);
void *fwi_calloc(size_t n, size_t size);
void *fwi_realloc(void *p, size_t size);
void *fwi_malloc_array(size_t n, size_t size); /* NULL on overflow */
void fwi_free(void *p);
char *fwi_strndup(const char *s, size_t n);

/* Copy text into a caller buffer following the API's buffer convention. */
fw_status fwi_out_text(const void *handle, const char *s, size_t n, char *buf,
                       size_t cap, size_t *n_needed);

/* Copy a caller's params struct (first field uint32_t struct_size) over
 * `dst`, which holds the defaults of this library's version (dst_size bytes).
 * A smaller struct_size (older caller) keeps the defaults of the fields it
 * lacks; a larger one (newer caller) is accepted only if the fields this
 * library does not know are zero. */
fw_status fwi_params_copy(void *dst, size_t dst_size, const void *src,
                          const char *what, const void *handle);

/* Little-endian unaligned loads. */
static inline uint16_t fwi_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t fwi_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline uint64_t fwi_rd64(const uint8_t *p)
{
    return (uint64_t)fwi_rd32(p) | ((uint64_t)fwi_rd32(p + 4) << 32);
}

#endif /* FWI_CORE_H */
