/*
 * jinja.h - the chat-template engine: a subset of Jinja2 as configured by
 * HF transformers' apply_chat_template (trim_blocks, lstrip_blocks,
 * loopcontrols, HF's tojson, raise_exception, strftime_now), rendering
 * byte-identically to it for the supported subset.  Anything outside the
 * subset is an error naming the construct and its line:column.
 *
 * One render call owns all its memory (an arena freed at the end), is
 * bounded in recursion depth, memory, evaluation steps and output size, and
 * touches no global state: any number of renders may run concurrently.
 */
#ifndef FWI_JINJA_H
#define FWI_JINJA_H

#include <stddef.h>

#include "core/json.h"
#include "core/sbuf.h"
#include "fwinfer.h"

/* One variable passed to the template (besides messages). */
typedef struct fwi_jinja_input {
    const char *tmpl;            /* template text (UTF-8) */
    size_t tmpl_len;
    const fwi_json *messages;    /* JSON array of message objects, or NULL */
    const fw_chat_message *msgs; /* used when messages is NULL */
    size_t n_msgs;
    const fwi_json *vars;        /* JSON object of extra variables, or NULL */
    const char *bos_token;       /* default bos_token/eos_token, or NULL */
    const char *eos_token;
    int add_generation_prompt;
    const char *fixed_date;      /* YYYY-MM-DD for strftime_now, or NULL */
} fwi_jinja_input;

/* Render into `out` (appended).  Errors: FW_E_FORMAT (template syntax),
 * FW_E_UNSUPPORTED (construct outside the subset), FW_E_INVALID_ARG
 * (raise_exception: the message is the template's own, after "raised: "),
 * FW_E_TYPE (a type error while evaluating), FW_E_RANGE (a limit was hit),
 * FW_E_NOMEM.  The message is recorded with fwi_fail(handle, ...). */
fw_status fwi_jinja_render(const fwi_jinja_input *in, const void *handle,
                           fwi_sbuf *out);

#endif
