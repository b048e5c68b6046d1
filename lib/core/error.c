/* error.c - status strings, per-thread last error, logging. */
#include <stdio.h>
#include <string.h>

#include "core.h"

/* The calling thread's last error and the handle it concerned.  Per-thread
 * state, not shared state: no locking needed. */
static _Thread_local char tls_msg[FWI_ERRMSG_CAP];
static _Thread_local const void *tls_handle;

fw_status fwi_failv(const void *handle, fw_status status, const char *fmt,
                    va_list ap)
{
    vsnprintf(tls_msg, sizeof tls_msg, fmt, ap);
    tls_handle = handle;
    return status;
}

fw_status fwi_fail(const void *handle, fw_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fwi_failv(handle, status, fmt, ap);
    va_end(ap);
    return status;
}

const char *fwi_errmsg_for(const void *handle)
{
    return (handle && tls_handle == handle) ? tls_msg : "";
}

void fwi_error_set_handle(const void *handle) { tls_handle = handle; }

FW_API const char *fw_last_error(void) { return tls_msg; }

FW_API const char *fw_status_str(fw_status status)
{
    switch (status) {
    case FW_OK: return "FW_OK: success";
    case FW_E_INVALID_ARG: return "FW_E_INVALID_ARG: invalid argument";
    case FW_E_NOMEM: return "FW_E_NOMEM: out of memory";
    case FW_E_IO: return "FW_E_IO: input/output error";
    case FW_E_FORMAT: return "FW_E_FORMAT: malformed input";
    case FW_E_UNSUPPORTED: return "FW_E_UNSUPPORTED: not supported";
    case FW_E_NOT_FOUND: return "FW_E_NOT_FOUND: not found";
    case FW_E_TYPE: return "FW_E_TYPE: wrong type";
    case FW_E_BUFFER_TOO_SMALL: return "FW_E_BUFFER_TOO_SMALL: buffer too small";
    case FW_E_CANCELLED: return "FW_E_CANCELLED: cancelled";
    case FW_E_ABORTED: return "FW_E_ABORTED: aborted by a callback";
    case FW_E_RANGE: return "FW_E_RANGE: value out of range";
    case FW_E_CONTEXT_FULL: return "FW_E_CONTEXT_FULL: context is full";
    case FW_E_NUMERIC: return "FW_E_NUMERIC: NaN or infinity";
    case FW_E_STATE: return "FW_E_STATE: invalid state or handle";
    case FW_E_INTERNAL: return "FW_E_INTERNAL: internal error";
    default: return "unknown status";
    }
}

void fwi_log(const fwi_logger *lg, int32_t level, const char *fmt, ...)
{
    if (!lg || !lg->fn || level > lg->level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    lg->fn(level, line, lg->user_data);
}

fw_status fwi_out_text(const void *handle, const char *s, size_t n, char *buf,
                       size_t cap, size_t *n_needed)
{
    if (n_needed)
        *n_needed = n;
    if (!buf && cap > 0)
        return fwi_fail(handle, FW_E_INVALID_ARG, "buffer is NULL but cap is %zu",
                        cap);
    if (cap > n) {
        memcpy(buf, s, n);
        buf[n] = '\0';
        return FW_OK;
    }
    if (cap > 0) {
        memcpy(buf, s, cap - 1);
        buf[cap - 1] = '\0';
    }
    return fwi_fail(handle, FW_E_BUFFER_TOO_SMALL,
                    "buffer of %zu bytes is too small: %zu bytes needed", cap,
                    n + 1);
}

fw_status fwi_params_copy(void *dst, size_t dst_size, const void *src,
                          const char *what, const void *handle)
{
    if (!src)
        return FW_OK;
    uint32_t size;
    memcpy(&size, src, sizeof size);
    if (size < 8)
        return fwi_fail(handle, FW_E_INVALID_ARG,
                        "%s: struct_size %u is too small (call %s_init)", what,
                        (unsigned)size, what);
    if (size > dst_size) {
        const unsigned char *extra = (const unsigned char *)src + dst_size;
        for (size_t i = 0; i < size - dst_size; i++)
            if (extra[i])
                return fwi_fail(handle, FW_E_UNSUPPORTED,
                                "%s: struct_size %u is newer than this "
                                "library (%zu) and sets fields it does not "
                                "know",
                                what, (unsigned)size, dst_size);
        size = (uint32_t)dst_size;
    }
    memcpy(dst, src, size);
    memcpy(dst, &(uint32_t){(uint32_t)dst_size}, sizeof(uint32_t));
    return FW_OK;
}
