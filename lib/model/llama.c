/*
 * llama.c - hyper-parameters and weight binding of the llama-family
 * architectures. One binder for all: the architecture table below says
 * what differs (data: which tensors exist, rope style, activation, norms;
 * plus a small hook for hyper-parameters with architecture-specific keys
 * and defaults), with the values llama.cpp uses.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/strmap.h"
#include "llama.h"

static int get_u(const fwi_gguf *g, const char *arch, const char *name,
                 int64_t def, int64_t *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    const fwi_gguf_kv *kv = fwi_gguf_find_kv(g, key);
    if (!kv) {
        *out = def;
        return def >= 0 ? 0 : -1;
    }
    int ovf;
    if (!fwi_gguf_scalar_is_int(kv->type))
        return -2;
    *out = fwi_gguf_scalar_i64(kv->type, kv->data, &ovf);
    return ovf ? -2 : 0;
}

static int get_f(const fwi_gguf *g, const char *arch, const char *name,
                 double def, float *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    const fwi_gguf_kv *kv = fwi_gguf_find_kv(g, key);
    if (!kv) {
        *out = (float)def;
        return 0;
    }
    if (kv->type != FW_META_FLOAT32 && kv->type != FW_META_FLOAT64)
        return -2;
    *out = (float)fwi_gguf_scalar_f64(kv->type, kv->data);
    return 0;
}

static fw_status hparam(const fwi_gguf *g, const char *arch, const char *name,
                        int64_t def, int64_t lo, int64_t hi, int32_t *out,
                        const void *handle)
{
    int64_t v;
    int r = get_u(g, arch, name, def, &v);
    if (r == -1)
        return fwi_fail(handle, FW_E_FORMAT, "key '%s.%s' is missing", arch,
                        name);
    if (r == -2)
        return fwi_fail(handle, FW_E_FORMAT, "key '%s.%s' is not an integer",
                        arch, name);
    if (v < lo || v > hi)
        return fwi_fail(handle, FW_E_FORMAT,
                        "key '%s.%s' = %" PRId64 " is out of range [%" PRId64
                        ", %" PRId64 "]",
                        arch, name, v, lo, hi);
    *out = (int32_t)v;
    return FW_OK;
}

/* Types the kernels can multiply, for messages. */
static void supported_list(char *buf, size_t cap)
{
    fwi_kernels k;
    fwi_kernels_init(&k, FWI_ISA_SCALAR);
    size_t n = 0;
    buf[0] = '\0';
    for (int t = 0; t < FWI_TYPE_COUNT && n < cap; t++)
        if (k.matvec[t])
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "",
                                  fw_type_name(t));
}

static fw_status bind(const fwi_gguf *g, const char *name, int64_t cols,
                      int64_t rows, int matrix, const void *handle,
                      fwi_weight *w)
{
    const fwi_gguf_tensor *t = fwi_gguf_find_tensor(g, name);
    if (!t)
        return fwi_fail(handle, FW_E_FORMAT, "tensor '%s' is missing", name);
    int64_t want_dims = rows > 1 || matrix ? 2 : 1;
    if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1 ||
        (t->n_dims != want_dims && !(t->n_dims == 2 && rows == 1)))
        return fwi_fail(handle, FW_E_FORMAT,
                        "tensor '%s' has shape [%" PRId64 ", %" PRId64 ", %" PRId64
                        ", %" PRId64 "], expected [%" PRId64 ", %" PRId64 "]",
                        name, t->ne[0], t->ne[1], t->ne[2], t->ne[3], cols, rows);
    if (matrix) {
        fwi_kernels k;
        fwi_kernels_init(&k, FWI_ISA_SCALAR);
        if (t->type >= FWI_TYPE_COUNT || !k.matvec[t->type]) {
            char list[128];
            supported_list(list, sizeof list);
            return fwi_fail(handle, FW_E_UNSUPPORTED,
                            "tensor '%s': type %s is not supported yet "
                            "(supported: %s)",
                            name, fw_type_name(t->type), list);
        }
    } else if (t->type != FW_TYPE_F32) {
        return fwi_fail(handle, FW_E_UNSUPPORTED,
                        "tensor '%s': norm weights must be F32, not %s", name,
                        fw_type_name(t->type));
    }
    /* rows are read with 2-byte (halves) or 4-byte (floats) loads: a caller
     * buffer (fw_model_load_from_memory) must be aligned for them */
    if ((uintptr_t)t->data % (t->type == FW_TYPE_F32 ? 4 : 2) != 0)
        return fwi_fail(handle, FW_E_INVALID_ARG,
                        "tensor '%s': data at address %p is misaligned (the "
                        "model buffer must be at least 32-byte aligned)",
                        name, (const void *)t->data);
    w->data = t->data;
    w->type = t->type;
    w->cols = cols;
    w->rows = rows;
    w->row_bytes = (size_t)(t->n_bytes / (uint64_t)rows);
    return FW_OK;
}

void fwi_llama_free(fwi_llama *m)
{
    if (!m)
        return;
    fwi_free(m->layers);
    fwi_free(m);
}

/* ---- the architecture table ---- */

enum {
    A_NEOX = 1 << 0,       /* NEOX rotary pairs (i, i + n_rot/2) */
    A_QK_NORM = 1 << 1,    /* attn_q_norm / attn_k_norm [head_dim] */
    A_POST_NORMS = 1 << 2, /* post_attention_norm, post_ffw_norm */
    A_GELU = 1 << 3,       /* gelu(gate) * up instead of silu */
    A_EMBD_SCALE = 1 << 4, /* embeddings times sqrt(n_embd) */
    A_FUSED_UP = 1 << 5,   /* ffn_up holds gate then up (2 n_ff rows) */
    A_TIED = 1 << 6,       /* output is token_embd, always */
    A_Q_PRESCALE = 1 << 7, /* Q *= 1/sqrt(head_dim) after RoPE, scores
                              unscaled (phi3, gemma) */
};

typedef struct arch_desc {
    const char *name;
    unsigned flags;
    /* architecture-specific hyper-parameters (may be NULL); *swa_period:
     * layer l slides when l % period < period - 1 (0: every layer) */
    fw_status (*hook)(const fwi_gguf *g, const char *arch, fwi_hparams *hp,
                      int32_t *swa_period, const void *handle);
} arch_desc;

static fw_status key_f(const fwi_gguf *g, const char *arch, const char *name,
                       float *v, const void *handle)
{
    if (get_f(g, arch, name, *v, v))
        return fwi_fail(handle, FW_E_FORMAT, "key '%s.%s' is not a float", arch, name);
    if (!isfinite(*v))
        return fwi_fail(handle, FW_E_FORMAT, "key '%s.%s' = %g is not finite",
                        arch, name, (double)*v);
    return FW_OK;
}

/* gemma2/3: 1/sqrt(head_dim) on Q, except the 27B models (llama.cpp
 * recognises them by their layer count) that use n_embd / n_head */
static void gemma_q_scale(fwi_hparams *hp, int32_t n_layer_27b)
{
    hp->q_scale = hp->n_layer == n_layer_27b
                      ? 1.0f / sqrtf((float)(hp->n_embd / hp->n_head))
                      : 1.0f / sqrtf((float)hp->head_dim);
}

static fw_status gemma2_hook(const fwi_gguf *g, const char *arch, fwi_hparams *hp,
                             int32_t *swa_period, const void *handle)
{
    hp->n_swa = 4096;
    *swa_period = 2;
    hp->attn_softcap = 50.0f;
    hp->final_softcap = 30.0f;
    hp->rope_freq_base_swa = hp->rope_freq_base;
    hp->rope_freq_scale_swa = hp->rope_freq_scale;
    gemma_q_scale(hp, 46);
    fw_status st = hparam(g, arch, "attention.sliding_window", hp->n_swa, 0,
                          INT32_MAX / 2, &hp->n_swa, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "attention.sliding_window_pattern", *swa_period, 0,
                    4096, swa_period, handle);
    if (st == FW_OK)
        st = key_f(g, arch, "rope.freq_base_swa", &hp->rope_freq_base_swa, handle);
    if (st == FW_OK)
        st = key_f(g, arch, "attn_logit_softcapping", &hp->attn_softcap, handle);
    if (st == FW_OK)
        st = key_f(g, arch, "final_logit_softcapping", &hp->final_softcap, handle);
    return st;
}

static fw_status gemma3_hook(const fwi_gguf *g, const char *arch, fwi_hparams *hp,
                             int32_t *swa_period, const void *handle)
{
    /* sliding only when the file says so; SWA layers keep base 10000 and
     * no frequency scaling unless rope.freq_base_swa says otherwise */
    *swa_period = 6;
    hp->rope_freq_base_swa = 10000.0f;
    hp->rope_freq_scale_swa = 1.0f;
    hp->final_softcap = 0.0f;
    gemma_q_scale(hp, 62);
    fw_status st = hparam(g, arch, "attention.sliding_window", 0, 0, INT32_MAX / 2,
                          &hp->n_swa, handle);
    if (st == FW_OK && hp->n_swa > 0)
        st = hparam(g, arch, "attention.sliding_window_pattern", *swa_period, 0,
                    4096, swa_period, handle);
    if (st == FW_OK && hp->n_swa > 0)
        st = key_f(g, arch, "rope.freq_base_swa", &hp->rope_freq_base_swa, handle);
    if (st == FW_OK)
        st = key_f(g, arch, "final_logit_softcapping", &hp->final_softcap, handle);
    return st;
}

static const arch_desc archs[] = {
    {"llama", 0, NULL},
    {"qwen2", A_NEOX, NULL},
    {"qwen3", A_NEOX | A_QK_NORM, NULL},
    {"phi3", A_NEOX | A_FUSED_UP | A_Q_PRESCALE, NULL},
    {"gemma2", A_NEOX | A_POST_NORMS | A_GELU | A_EMBD_SCALE | A_TIED | A_Q_PRESCALE,
     gemma2_hook},
    {"gemma3", A_NEOX | A_QK_NORM | A_POST_NORMS | A_GELU | A_EMBD_SCALE | A_Q_PRESCALE,
     gemma3_hook},
};

static const arch_desc *arch_find(const char *name)
{
    for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
        if (!strcmp(archs[i].name, name))
            return &archs[i];
    return NULL;
}

int fwi_arch_supported(const char *arch)
{
    return arch && arch_find(arch) != NULL;
}

const char *fwi_arch_list(void)
{
    return "llama, qwen2, qwen3, phi3, gemma2, gemma3";
}

/* ---- hyper-parameters ---- */

static const fwi_gguf_kv *find_key(const fwi_gguf *g, const char *arch, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    return fwi_gguf_find_kv(g, key);
}

/* rope.scaling.*: linear (or unnamed) scaling and LongRoPE (phi3: the
 * factor tensors) are applied as llama.cpp does with ext_factor 0; YaRN is
 * refused rather than run wrong */
static fw_status rope_scaling(const fwi_gguf *g, const char *arch, fwi_hparams *hp,
                              const void *handle)
{
    const fwi_gguf_kv *kv = find_key(g, arch, "rope.scaling.type");
    char type[32] = "linear";
    if (kv) {
        if (kv->type != FW_META_STRING || kv->n >= sizeof type)
            return fwi_fail(handle, FW_E_FORMAT, "key '%s.rope.scaling.type' is "
                            "not a short string", arch);
        memcpy(type, kv->data, (size_t)kv->n);
        type[kv->n] = '\0';
    }
    if (strcmp(type, "none") && strcmp(type, "linear") && strcmp(type, "longrope"))
        return fwi_fail(handle, FW_E_UNSUPPORTED,
                        "%s.rope.scaling.type '%s' is not supported (supported: "
                        "none, linear, longrope)", arch, type);
    float factor = 0.0f;
    fw_status st = key_f(g, arch, find_key(g, arch, "rope.scaling.factor")
                                      ? "rope.scaling.factor"
                                      : "rope.scale_linear",
                         &factor, handle);
    if (st != FW_OK)
        return st;
    if (factor < 0)
        return fwi_fail(handle, FW_E_FORMAT, "%s.rope.scaling.factor = %g is negative",
                        arch, (double)factor);
    hp->rope_freq_scale = factor == 0.0f || !strcmp(type, "none") ? 1.0f : 1.0f / factor;
    hp->rope_mscale = 1.0f;
    st = key_f(g, arch, "rope.scaling.attn_factor", &hp->rope_mscale, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "rope.scaling.original_context_length", hp->n_ctx_train,
                    1, INT32_MAX / 2, &hp->n_ctx_orig, handle);
    return st;
}

static fw_status read_hparams(const fwi_gguf *g, const char *arch, const arch_desc *ad,
                              fwi_hparams *hp, int32_t *swa_period, const void *handle)
{
    memset(hp, 0, sizeof *hp);
    const int32_t big = 1 << 20;
    fw_status st = hparam(g, arch, "embedding_length", -1, 1, big, &hp->n_embd, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "block_count", -1, 1, 4096, &hp->n_layer, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "feed_forward_length", -1, 1, big, &hp->n_ff, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "attention.head_count", -1, 1, 4096, &hp->n_head, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "attention.head_count_kv", hp->n_head, 1, hp->n_head,
                    &hp->n_head_kv, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "context_length", 2048, 1, INT32_MAX / 2,
                    &hp->n_ctx_train, handle);
    if (st != FW_OK)
        return st;
    if (hp->n_head % hp->n_head_kv != 0)
        return fwi_fail(handle, FW_E_FORMAT,
                        "%s: head_count %d is not a multiple of head_count_kv %d",
                        arch, (int)hp->n_head, (int)hp->n_head_kv);
    /* head size: attention.key_length (Gemma, Qwen3), else n_embd / n_head */
    if (!find_key(g, arch, "attention.key_length") && hp->n_embd % hp->n_head != 0)
        return fwi_fail(handle, FW_E_FORMAT,
                        "%s: embedding_length %d is not a multiple of head_count "
                        "%d (and there is no attention.key_length)",
                        arch, (int)hp->n_embd, (int)hp->n_head);
    st = hparam(g, arch, "attention.key_length", hp->n_embd / hp->n_head, 2, 4096,
                &hp->head_dim, handle);
    int32_t vlen = 0;
    if (st == FW_OK)
        st = hparam(g, arch, "attention.value_length", hp->head_dim, 1, 4096, &vlen,
                    handle);
    if (st != FW_OK)
        return st;
    if (vlen != hp->head_dim)
        return fwi_fail(handle, FW_E_UNSUPPORTED,
                        "%s: attention.value_length %d differs from key_length %d "
                        "(not supported)", arch, (int)vlen, (int)hp->head_dim);
    st = hparam(g, arch, "rope.dimension_count", hp->head_dim, 2, hp->head_dim,
                &hp->n_rot, handle);
    if (st != FW_OK)
        return st;
    if (hp->n_rot % 2)
        return fwi_fail(handle, FW_E_FORMAT, "%s.rope.dimension_count = %d is odd",
                        arch, (int)hp->n_rot);
    if (get_f(g, arch, "rope.freq_base", 10000.0, &hp->rope_freq_base) ||
        get_f(g, arch, "attention.layer_norm_rms_epsilon", 1e-5, &hp->rms_eps))
        return fwi_fail(handle, FW_E_FORMAT, "%s: rope.freq_base or "
                        "layer_norm_rms_epsilon is not a float", arch);
    if (!(hp->rope_freq_base > 0) || !(hp->rms_eps > 0))
        return fwi_fail(handle, FW_E_FORMAT,
                        "%s: rope.freq_base %g and layer_norm_rms_epsilon %g "
                        "must be positive",
                        arch, (double)hp->rope_freq_base, (double)hp->rms_eps);
    st = rope_scaling(g, arch, hp, handle);
    if (st != FW_OK)
        return st;
    hp->rope_neox = (ad->flags & A_NEOX) != 0;
    hp->ffn_gelu = (ad->flags & A_GELU) != 0;
    hp->kq_scale = 1.0f / sqrtf((float)hp->head_dim);
    if (ad->flags & A_Q_PRESCALE) {
        hp->q_scale = hp->kq_scale;
        hp->kq_scale = 1.0f;
    }
    if (ad->flags & A_EMBD_SCALE)
        hp->embd_scale = sqrtf((float)hp->n_embd);
    hp->rope_freq_base_swa = hp->rope_freq_base;
    hp->rope_freq_scale_swa = hp->rope_freq_scale;
    *swa_period = 0;
    if (ad->hook && (st = ad->hook(g, arch, hp, swa_period, handle)) != FW_OK)
        return st;
    if (!(hp->rope_freq_base_swa > 0) || !(hp->attn_softcap >= 0) ||
        !(hp->final_softcap >= 0))
        return fwi_fail(handle, FW_E_FORMAT,
                        "%s: rope.freq_base_swa %g must be positive, soft-capping "
                        "%g / %g not negative",
                        arch, (double)hp->rope_freq_base_swa, (double)hp->attn_softcap,
                        (double)hp->final_softcap);
    return FW_OK;
}

/* ---- tensors ---- */

/* bind NAME if the file has it (else leave *w zeroed) */
static fw_status bind_opt(const fwi_gguf *g, const char *name, int64_t cols,
                          int64_t rows, int matrix, const void *handle, fwi_weight *w)
{
    memset(w, 0, sizeof *w);
    return fwi_gguf_find_tensor(g, name) ? bind(g, name, cols, rows, matrix, handle, w)
                                         : FW_OK;
}

/* rows [r0, r0 + n) of a matrix (fused tensors) */
static fwi_weight rows_view(const fwi_weight *w, int64_t r0, int64_t n)
{
    fwi_weight v = *w;
    v.data = (const char *)w->data + (size_t)r0 * w->row_bytes;
    v.rows = n;
    return v;
}

static fw_status bind_layer(const fwi_gguf *g, const arch_desc *ad, const fwi_hparams *hp,
                            int32_t l, const void *handle, fwi_layer *L)
{
    const int64_t e = hp->n_embd, q = (int64_t)hp->n_head * hp->head_dim,
                  kvd = (int64_t)hp->n_head_kv * hp->head_dim, ff = hp->n_ff;
    char name[96];
    fw_status st = FW_OK;
    fwi_weight t = {0};
#define NAME(suffix) (snprintf(name, sizeof name, "blk.%d." suffix, (int)l), name)
#define REQ(suffix, cols, rows, matrix, dst)                                  \
    if (st == FW_OK)                                                          \
        st = bind(g, NAME(suffix), cols, rows, matrix, handle, &(dst));
#define OPT(suffix, cols, rows, matrix, dst)                                  \
    if (st == FW_OK)                                                          \
        st = bind_opt(g, NAME(suffix), cols, rows, matrix, handle, &(dst));
    REQ("attn_norm.weight", e, 1, 0, t)
    L->attn_norm = t.data;
    if (st == FW_OK && fwi_gguf_find_tensor(g, NAME("attn_qkv.weight"))) {
        /* fused: rows q, then k, then v */
        fwi_weight qkv;
        REQ("attn_qkv.weight", e, q + 2 * kvd, 1, qkv)
        OPT("attn_qkv.bias", q + 2 * kvd, 1, 0, t)
        if (st == FW_OK) {
            L->wq = rows_view(&qkv, 0, q);
            L->wk = rows_view(&qkv, q, kvd);
            L->wv = rows_view(&qkv, q + kvd, kvd);
            if (t.data) {
                L->bq = t.data;
                L->bk = L->bq + q;
                L->bv = L->bk + kvd;
            }
        }
    } else {
        REQ("attn_q.weight", e, q, 1, L->wq)
        REQ("attn_k.weight", e, kvd, 1, L->wk)
        REQ("attn_v.weight", e, kvd, 1, L->wv)
        OPT("attn_q.bias", q, 1, 0, t)
        L->bq = t.data;
        OPT("attn_k.bias", kvd, 1, 0, t)
        L->bk = t.data;
        OPT("attn_v.bias", kvd, 1, 0, t)
        L->bv = t.data;
    }
    if (ad->flags & A_QK_NORM) {
        REQ("attn_q_norm.weight", hp->head_dim, 1, 0, t)
        L->q_norm = t.data;
        REQ("attn_k_norm.weight", hp->head_dim, 1, 0, t)
        L->k_norm = t.data;
    }
    REQ("attn_output.weight", q, e, 1, L->wo)
    if (ad->flags & A_POST_NORMS) {
        REQ("post_attention_norm.weight", e, 1, 0, t)
        L->attn_post_norm = t.data;
    }
    REQ("ffn_norm.weight", e, 1, 0, t)
    L->ffn_norm = t.data;
    if (ad->flags & A_FUSED_UP) {
        /* phi3: rows [0, n_ff) gate, [n_ff, 2 n_ff) up */
        fwi_weight gu;
        REQ("ffn_up.weight", e, 2 * ff, 1, gu)
        if (st == FW_OK) {
            L->w_gate = rows_view(&gu, 0, ff);
            L->w_up = rows_view(&gu, ff, ff);
        }
    } else {
        REQ("ffn_gate.weight", e, ff, 1, L->w_gate)
        REQ("ffn_up.weight", e, ff, 1, L->w_up)
    }
    REQ("ffn_down.weight", ff, e, 1, L->w_down)
    if (ad->flags & A_POST_NORMS) {
        REQ("post_ffw_norm.weight", e, 1, 0, t)
        L->ffn_post_norm = t.data;
    }
#undef NAME
#undef REQ
#undef OPT
    return st;
}

fw_status fwi_llama_bind(const fwi_gguf *g, const char *arch,
                         const void *handle, fwi_llama **out)
{
    *out = NULL;
    const arch_desc *ad = arch_find(arch);
    if (!ad)
        return fwi_fail(handle, FW_E_UNSUPPORTED,
                        "architecture '%s' is not supported (this build runs: %s)",
                        arch, fwi_arch_list());
    fwi_hparams hp;
    int32_t swa_period = 0;
    fw_status st = read_hparams(g, arch, ad, &hp, &swa_period, handle);
    if (st != FW_OK)
        return st;
    const fwi_gguf_tensor *emb = fwi_gguf_find_tensor(g, "token_embd.weight");
    if (!emb)
        return fwi_fail(handle, FW_E_FORMAT, "tensor 'token_embd.weight' is missing");
    if (emb->ne[1] < 1 || emb->ne[1] > INT32_MAX)
        return fwi_fail(handle, FW_E_FORMAT, "token_embd.weight has %" PRId64
                        " rows", emb->ne[1]);
    hp.n_vocab = (int32_t)emb->ne[1];

    fwi_llama *m = fwi_calloc(1, sizeof *m);
    if (!m)
        return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    m->hp = hp;
    m->layers = fwi_calloc((size_t)hp.n_layer, sizeof *m->layers);
    if (!m->layers) {
        fwi_llama_free(m);
        return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    }
    const int64_t e = hp.n_embd;
    fwi_weight nw = {0};
    st = bind(g, "token_embd.weight", e, hp.n_vocab, 1, handle, &m->tok_embd);
    if (st == FW_OK)
        st = bind(g, "output_norm.weight", e, 1, 0, handle, &nw);
    m->out_norm = nw.data;
    if (st == FW_OK) {
        if (!(ad->flags & A_TIED) && fwi_gguf_find_tensor(g, "output.weight"))
            st = bind(g, "output.weight", e, hp.n_vocab, 1, handle, &m->output);
        else
            m->output = m->tok_embd; /* tied embeddings */
    }
    /* RoPE frequency factors: rope_freqs (Llama 3.1+), else LongRoPE's pair */
    if (st == FW_OK && fwi_gguf_find_tensor(g, "rope_freqs.weight")) {
        st = bind(g, "rope_freqs.weight", hp.n_rot / 2, 1, 0, handle, &nw);
        m->rope_ff = m->rope_ff_long = nw.data;
    } else if (st == FW_OK) {
        st = bind_opt(g, "rope_factors_short.weight", hp.n_rot / 2, 1, 0, handle, &nw);
        m->rope_ff = nw.data;
        if (st == FW_OK)
            st = bind_opt(g, "rope_factors_long.weight", hp.n_rot / 2, 1, 0, handle, &nw);
        m->rope_ff_long = nw.data;
    }
    for (int32_t l = 0; st == FW_OK && l < hp.n_layer; l++) {
        fwi_layer *L = &m->layers[l];
        st = bind_layer(g, ad, &hp, l, handle, L);
        L->swa = hp.n_swa > 0 && (swa_period == 0 || l % swa_period < swa_period - 1);
    }
    if (st != FW_OK) {
        fwi_llama_free(m);
        return st;
    }
    /* tok_embd is only read row by row (dequantised), never multiplied */
    m->act_formats = fwi_weight_aq_mask(&m->output);
    {
        for (int32_t l = 0; l < hp.n_layer; l++) {
            const fwi_layer *L = &m->layers[l];
            const fwi_weight *ws[7] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                       &L->w_gate, &L->w_up, &L->w_down};
            for (int i = 0; i < 7; i++)
                m->act_formats |= fwi_weight_aq_mask(ws[i]);
        }
    }
    uint64_t h = fwi_hash_bytes(&hp, sizeof hp);
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const fwi_gguf_tensor *t = &g->tensors[i];
        h ^= fwi_hash_bytes(t->name, strlen(t->name)) + (uint64_t)t->type * 31 +
             t->offset * 1099511628211ull + (uint64_t)i;
        h *= 0x100000001b3ull;
    }
    m->fingerprint = h;
    *out = m;
    return FW_OK;
}
