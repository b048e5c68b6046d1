/* llama.c - llama hyper-parameters and weight binding. */
#include <inttypes.h>
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

fw_status fwi_llama_bind(const fwi_gguf *g, const char *arch,
                         const void *handle, fwi_llama **out)
{
    *out = NULL;
    fwi_hparams hp;
    memset(&hp, 0, sizeof hp);
    const int32_t big = 1 << 20;
    fw_status st = hparam(g, arch, "embedding_length", -1, 1, big, &hp.n_embd, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "block_count", -1, 1, 4096, &hp.n_layer, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "feed_forward_length", -1, 1, big, &hp.n_ff, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "attention.head_count", -1, 1, 4096, &hp.n_head, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "attention.head_count_kv", hp.n_head, 1, hp.n_head,
                    &hp.n_head_kv, handle);
    if (st == FW_OK)
        st = hparam(g, arch, "context_length", 2048, 1, INT32_MAX / 2,
                    &hp.n_ctx_train, handle);
    if (st != FW_OK)
        return st;
    if (hp.n_embd % hp.n_head != 0 || hp.n_head % hp.n_head_kv != 0)
        return fwi_fail(handle, FW_E_FORMAT,
                        "%s: embedding_length %d, head_count %d and "
                        "head_count_kv %d do not divide",
                        arch, (int)hp.n_embd, (int)hp.n_head, (int)hp.n_head_kv);
    hp.head_dim = hp.n_embd / hp.n_head;
    st = hparam(g, arch, "rope.dimension_count", hp.head_dim, 2, hp.head_dim,
                &hp.n_rot, handle);
    if (st != FW_OK)
        return st;
    if (hp.n_rot % 2)
        return fwi_fail(handle, FW_E_FORMAT, "%s.rope.dimension_count = %d is odd",
                        arch, (int)hp.n_rot);
    if (get_f(g, arch, "rope.freq_base", 10000.0, &hp.rope_freq_base) ||
        get_f(g, arch, "attention.layer_norm_rms_epsilon", 1e-5, &hp.rms_eps))
        return fwi_fail(handle, FW_E_FORMAT, "%s: rope.freq_base or "
                        "layer_norm_rms_epsilon is not a float", arch);
    if (!(hp.rope_freq_base > 0) || !(hp.rms_eps > 0))
        return fwi_fail(handle, FW_E_FORMAT,
                        "%s: rope.freq_base %g and layer_norm_rms_epsilon %g "
                        "must be positive",
                        arch, (double)hp.rope_freq_base, (double)hp.rms_eps);
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
    const int64_t e = hp.n_embd, q = (int64_t)hp.n_head * hp.head_dim,
                  kvd = (int64_t)hp.n_head_kv * hp.head_dim;
    fwi_weight nw = {0};
    st = bind(g, "token_embd.weight", e, hp.n_vocab, 1, handle, &m->tok_embd);
    if (st == FW_OK)
        st = bind(g, "output_norm.weight", e, 1, 0, handle, &nw);
    m->out_norm = nw.data;
    if (st == FW_OK) {
        if (fwi_gguf_find_tensor(g, "output.weight"))
            st = bind(g, "output.weight", e, hp.n_vocab, 1, handle, &m->output);
        else
            m->output = m->tok_embd; /* tied embeddings */
    }
    for (int32_t l = 0; st == FW_OK && l < hp.n_layer; l++) {
        fwi_layer *L = &m->layers[l];
        char name[96];
#define BIND(field, suffix, cols, rows, matrix)                               \
    if (st == FW_OK) {                                                        \
        snprintf(name, sizeof name, "blk.%d." suffix ".weight", (int)l);      \
        st = bind(g, name, cols, rows, matrix, handle, &(field));             \
    }
        fwi_weight an = {0}, fn = {0};
        BIND(an, "attn_norm", e, 1, 0)
        BIND(L->wq, "attn_q", e, q, 1)
        BIND(L->wk, "attn_k", e, kvd, 1)
        BIND(L->wv, "attn_v", e, kvd, 1)
        BIND(L->wo, "attn_output", q, e, 1)
        BIND(fn, "ffn_norm", e, 1, 0)
        BIND(L->w_gate, "ffn_gate", e, hp.n_ff, 1)
        BIND(L->w_up, "ffn_up", e, hp.n_ff, 1)
        BIND(L->w_down, "ffn_down", hp.n_ff, e, 1)
#undef BIND
        if (st == FW_OK) {
            L->attn_norm = an.data;
            L->ffn_norm = fn.data;
        }
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
