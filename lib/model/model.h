/* model.h - the fw_model object. */
#ifndef FWI_MODEL_H
#define FWI_MODEL_H

#include "core/core.h"
#include "core/mapfile.h"
#include "gguf/gguf.h"
#include "model/llama.h"
#include "tokenizer/vocab.h"

#define FWI_MODEL_MAGIC 0x4d574621u /* "!FWM" */

struct fw_model {
    uint32_t magic;
    fwi_mapfile file; /* empty when loaded from a caller buffer */
    fwi_gguf gguf;
    const char *arch; /* general.architecture (NUL-terminated copy) or "" */
    fwi_logger log;
    fwi_vocab *vocab;       /* NULL: no usable tokenizer (see vocab_error) */
    char *vocab_error;      /* why there is none, or NULL */
    fw_status vocab_status; /* status to report when tokenizing */
    fwi_llama *llama;       /* the weights; NULL without tensors or when
                               loaded metadata-only */
    int metadata_only;
};

/* NULL-safe check that `m` looks like a live model. */
static inline int fwi_model_ok(const fw_model *m)
{
    return m && m->magic == FWI_MODEL_MAGIC;
}

#endif
