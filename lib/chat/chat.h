/* chat.h - chat-template rendering for the rest of the library (the public
 * entry points are fw_chat_apply_template[_json] in chat.c). */
#ifndef FWI_CHAT_H
#define FWI_CHAT_H

#include "chat/jinja.h"
#include "core/sbuf.h"
#include "fwinfer.h"

/* Render `in` (messages or msgs, vars and add_generation_prompt set by the
 * caller) with `tmpl`, or the model's tokenizer.chat_template when tmpl is
 * NULL, with bos_token/eos_token taken from the model (when not NULL) and
 * FWINFER_FIXED_DATE honoured, as fw_chat_apply_template does.  The text is
 * appended to `out`.  Errors as fw_chat_apply_template, recorded on `model`
 * (callers re-attribute them with fwi_error_set_handle). */
fw_status fwi_chat_render(const fw_model *model, const char *tmpl,
                          fwi_jinja_input *in, fwi_sbuf *out);

/* The checks fw_chat_apply_template makes on a C message array: msgs not
 * NULL when n_msgs > 0, every role set, role and content valid UTF-8. */
fw_status fwi_chat_check_msgs(const void *handle, const fw_chat_message *msgs,
                              size_t n_msgs);

#endif
