/* model.h - the fw_model object. */
#ifndef FWI_MODEL_H
#define FWI_MODEL_H

#include "core/core.h"
#include "core/mapfile.h"
#include "gguf/gguf.h"
#include "model/llama.h"
#include "tokenizer/vocab.h"

#define FWI_MODEL_MAGIC 0x4d574621u /* "!FWM" */

/* Sampling defaults a model sets (generation_config.json, then GGUF
 * general.sampling.*), with the number as the source wrote it. */
enum { FWI_DEF_TEMPERATURE, FWI_DEF_TOP_K, FWI_DEF_TOP_P, FWI_DEF_MIN_P,
       FWI_DEF_TYPICAL_P, FWI_DEF_COUNT };

typedef struct fwi_sampling_defaults {
    int has[FWI_DEF_COUNT];
    double value[FWI_DEF_COUNT];
    char text[FWI_DEF_COUNT][40];
} fwi_sampling_defaults;

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
    fwi_sampling_defaults defaults;
    int32_t *extra_eog;     /* eos_token_id of generation_config.json */
    int32_t n_extra_eog;
};

/* The model's sampling defaults (all unset for NULL). */
void fwi_model_sampling_defaults(const fw_model *m, fwi_sampling_defaults *d);

/* Read the defaults from GGUF and the generation config (path may be NULL:
 * look next to `model_path`, which may be NULL: none). */
fw_status fwi_model_load_defaults(fw_model *m, const char *config_path,
                                  const char *model_path);

/* NULL-safe check that `m` looks like a live model. */
static inline int fwi_model_ok(const fw_model *m)
{
    return m && m->magic == FWI_MODEL_MAGIC;
}

#endif
