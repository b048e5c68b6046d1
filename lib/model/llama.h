/*
 * llama.h - the llama architecture: hyper-parameters, weights (views into
 * the mapped file, shapes in ggml order: ne[0] = input dim, ne[1] = output
 * dim), and the forward pass over a per-sequence F16 KV cache.
 */
#ifndef FWI_LLAMA_H
#define FWI_LLAMA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "fwinfer.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"

typedef struct fwi_hparams {
    int32_t n_embd;     /* model width */
    int32_t n_layer;
    int32_t n_head;     /* query heads */
    int32_t n_head_kv;  /* key/value heads (GQA: n_head % n_head_kv == 0) */
    int32_t head_dim;   /* n_embd / n_head */
    int32_t n_ff;       /* feed-forward width */
    int32_t n_vocab;    /* rows of the output projection */
    int32_t n_ctx_train;
    int32_t n_rot;      /* rotated dims per head */
    float rope_freq_base;
    float rms_eps;
    /* ---- beyond Llama 2 (see arch.c; defaults reproduce llama) ---- */
    int32_t rope_neox;       /* rotate pairs (i, i + n_rot/2), not (2i, 2i+1) */
    float rope_freq_scale;   /* 1 / rope.scaling.factor (linear scaling) */
    float rope_mscale;       /* rope.scaling.attn_factor: cos/sin scale */
    int32_t n_ctx_orig;      /* rope.scaling.original_context_length */
    int32_t n_swa;           /* sliding window of the SWA layers (0: none) */
    float rope_freq_base_swa, rope_freq_scale_swa; /* rope of SWA layers */
    float q_scale;           /* 0, or Q is multiplied by it after RoPE */
    float kq_scale;          /* attention score scale (1/sqrt(head_dim)) */
    float attn_softcap;      /* 0, or scores = c * tanh(scores / c) */
    float final_softcap;     /* 0, or logits = tanh(logits / c) * c */
    float embd_scale;        /* 0, or token embeddings are multiplied by it */
    int32_t ffn_gelu;        /* gate activation: 0 silu, 1 gelu (tanh) */
} fwi_hparams;

/* A weight matrix: `rows` output rows of `cols` inputs, in `type`. */
typedef struct fwi_weight {
    const void *data;
    int32_t type;    /* FW_TYPE_* */
    int64_t rows, cols;
    size_t row_bytes;
} fwi_weight;

/* A layer. Fused tensors of the file (attn_qkv; phi3's ffn_up holding
 * gate and up) are bound as row views: wq/wk/wv, w_gate/w_up. Optional
 * parts are NULL when the file has none. */
typedef struct fwi_layer {
    const float *attn_norm; /* [n_embd] */
    fwi_weight wq;          /* [n_embd] -> [n_head * head_dim] */
    fwi_weight wk;          /* [n_embd] -> [n_head_kv * head_dim] */
    fwi_weight wv;          /* [n_embd] -> [n_head_kv * head_dim] */
    const float *bq, *bk, *bv; /* biases [rows of wq/wk/wv] or NULL (qwen2) */
    const float *q_norm, *k_norm; /* per-head rmsnorm [head_dim] or NULL */
    fwi_weight wo;          /* [n_head * head_dim] -> [n_embd] */
    const float *attn_post_norm; /* [n_embd] or NULL (gemma) */
    const float *ffn_norm;  /* [n_embd] */
    fwi_weight w_gate;      /* [n_embd] -> [n_ff] */
    fwi_weight w_up;        /* [n_embd] -> [n_ff] */
    fwi_weight w_down;      /* [n_ff] -> [n_embd] */
    const float *ffn_post_norm; /* [n_embd] or NULL (gemma) */
    int32_t swa;            /* sliding-window layer (hp.n_swa) */
} fwi_layer;

typedef struct fwi_llama {
    fwi_hparams hp;
    fwi_weight tok_embd;     /* [n_embd] x n_vocab rows: one row per token */
    fwi_layer *layers;       /* [n_layer] */
    const float *out_norm;   /* [n_embd] */
    fwi_weight output;       /* [n_embd] -> [n_vocab] (tok_embd if tied) */
    /* RoPE frequency factors [n_rot/2] or NULL: rope_freqs (Llama 3.1+),
     * or phi3's rope_factors_short / _long (long when n_ctx > n_ctx_orig) */
    const float *rope_ff, *rope_ff_long;
    unsigned act_formats;    /* mask of FWI_AQ_* the weights need */
    uint64_t fingerprint;    /* hash of the hyper-parameters and tensor
                                table: tells saved states apart */
} fwi_llama;

/* Whether the architecture (general.architecture) is one we can run. */
int fwi_arch_supported(const char *arch);

/* Comma-separated list of the supported architectures, for messages. */
const char *fwi_arch_list(void);

/* Bind the weights of a file of a supported architecture: every tensor
 * present with the shape the hyper-parameters give and a type the kernels
 * support, else an error naming the tensor (or key). */
fw_status fwi_llama_bind(const fwi_gguf *g, const char *arch,
                         const void *handle, fwi_llama **out);
void fwi_llama_free(fwi_llama *m);

/* The KV cache of one sequence: per layer, n_ctx rows of
 * n_head_kv * head_dim halves, K then V. */
typedef struct fwi_kv_seq {
    fwi_f16 *k, *v;  /* [n_layer][n_ctx][kv_dim] */
    int32_t len;     /* positions 0..len-1 are filled */
} fwi_kv_seq;

struct fwi_pool;

/* The quantised activation formats a matrix product may need (a weight
 * type's vec_dot_type): index into the per-format scratch buffers. */
enum { FWI_AQ_Q8_0, FWI_AQ_Q8_1, FWI_AQ_Q8_K, FWI_AQ_COUNT };

/* FWI_AQ_* of an activation type, -1 for f32 activations. */
static inline int fwi_aq_index(int vec_dot_type)
{
    return vec_dot_type == FWI_TYPE_Q8_0   ? FWI_AQ_Q8_0
           : vec_dot_type == FWI_TYPE_Q8_1 ? FWI_AQ_Q8_1
           : vec_dot_type == FWI_TYPE_Q8_K ? FWI_AQ_Q8_K
                                           : -1;
}

/* the activation type of FWI_AQ_* index i */
static inline int fwi_aq_type(int i)
{
    static const int t[FWI_AQ_COUNT] = {FWI_TYPE_Q8_0, FWI_TYPE_Q8_1, FWI_TYPE_Q8_K};
    return t[i];
}

/* bit FWI_AQ_* of the activation format W's kernels read (0: f32) */
static inline unsigned fwi_weight_aq_mask(const fwi_weight *w)
{
    const fwi_type_traits *tt = fwi_type_traits_get(w->type);
    const int i = tt ? fwi_aq_index((int)tt->vec_dot_type) : -1;
    return i < 0 ? 0u : 1u << i;
}

/* Query heads of one KV group that an attention task handles together
 * (fwi_kernels.attn_values_online_f16_heads): at most FWI_ATT_HEADS, and
 * no more than the group has. */
#define FWI_ATT_HEADS 4
static inline int fwi_att_heads(const fwi_hparams *hp)
{
    const int group = hp->n_head / hp->n_head_kv;
    return group < FWI_ATT_HEADS ? group : FWI_ATT_HEADS;
}

/* Scratch of one context, sized for n_batch tokens. */
typedef struct fwi_scratch {
    int32_t n_batch, n_ctx, n_threads;
    float *x, *xb, *q, *k, *v, *att, *hb, *hb2, *logits;
    /* activation rows per quantised format (FWI_AQ_*; NULL for formats the
     * model's weights do not use), xq_stride[i] bytes apart */
    void *xq[FWI_AQ_COUNT];
    size_t xq_stride[FWI_AQ_COUNT];
    float *scores;   /* [n_threads][fwi_att_heads(hp)][n_ctx] */
    float *att_q;    /* [n_threads][head_dim]: the query rounded to f16 */
    fwi_f16 *att_acc;/* [n_threads][head_dim]: f16 value accumulator */
    float *rope_cs;  /* [n_batch][n_rot] */
    float *rope_cs_swa; /* [n_batch][n_rot]: SWA layers' own rope, or NULL */
    /* per thread, for one-token batches (each thread prepares the input of
     * a matrix product itself instead of waiting at a barrier) */
    float *xbt;      /* [n_threads][xbt_stride]: rmsnorm output */
    size_t xbt_stride;  /* floats, >= n_embd */
    void *xqt[FWI_AQ_COUNT];      /* [n_threads][xqt_stride]: a row per format */
    size_t xqt_stride[FWI_AQ_COUNT]; /* bytes */
} fwi_scratch;

typedef struct fwi_forward {
    const fwi_llama *m;
    const fwi_kernels *k;
    struct fwi_pool *pool;
    fwi_scratch *s;
    atomic_int *cancel;          /* non-zero: stop at the next layer */
    atomic_uint_least64_t *layers_done; /* layer boundaries passed */
} fwi_forward;

/* Evaluate tokens[0..n), token i of sequence kv[i] at position pos[i],
 * storing its keys and values there.  Tokens of one sequence come in
 * order, at consecutive positions from at most kv[i]->len on (the caller
 * checks), so each attends to what precedes it in its own sequence,
 * earlier tokens of the batch included.  Logits of the last token (all
 * tokens when all_logits) go to s->logits ([n][n_vocab]).  Returns FW_OK
 * (each sequence's len then ends after its last token), FW_E_CANCELLED
 * (the lens are unchanged), or FW_E_NUMERIC when the logits are not
 * finite. */
fw_status fwi_llama_forward(const fwi_forward *f, fwi_kv_seq *const *kv,
                            const int32_t *pos, const int32_t *tokens, int32_t n,
                            int all_logits);

#endif
