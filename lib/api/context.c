/* context.c - public entry points: contexts, evaluation, sequences. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/threadpool.h"
#include "model/model.h"

#define CTX_MAGIC 0x43574621u /* "!FWC" */
#define DEFAULT_KV_BUDGET (512ull << 20)

struct fw_context {
    uint32_t magic;
    const fw_model *model;
    const fwi_llama *m;
    fwi_kernels kernels;
    fwi_pool *pool;
    fwi_scratch s;
    fwi_kv_seq *seqs;        /* [n_seq_max] */
    uint32_t n_ctx, n_batch, n_seq_max, n_threads;
    size_t kv_seq_elems;     /* halves per K (or V) of one sequence */
    float *logits;           /* [n_logits][n_vocab] of the last eval */
    size_t logits_cap;       /* in tokens */
    int32_t n_logits;        /* tokens with logits kept */
    int32_t logits_first;    /* index in the last batch of logits row 0 */
    int32_t last_n;          /* tokens in the last eval */
    atomic_int cancel;
    atomic_uint_least64_t layers_done;
    char errmsg[FWI_ERRMSG_CAP];
};

static int ctx_ok(const fw_context *c) { return c && c->magic == CTX_MAGIC; }

/* Record a failure on the context (and the thread's slot). */
static fw_status ctx_fail(fw_context *c, fw_status st, const char *fmt, ...)
    FWI_PRINTF(3, 4);
static fw_status ctx_fail(fw_context *c, fw_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fwi_failv(c, st, fmt, ap);
    va_end(ap);
    snprintf(c->errmsg, sizeof c->errmsg, "%s", fw_last_error());
    return st;
}

FW_API const char *fw_isa_best(void)
{
    return fwi_isa_name(fwi_cpu_detect());
}

FW_API int32_t fw_isa_valid(const char *name)
{
    enum fwi_isa isa;
    return name && fwi_isa_from_name(name, &isa) == 0;
}

FW_API void fw_context_params_init(fw_context_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
}

static void scratch_free(fwi_scratch *s)
{
    fwi_free(s->x);
    fwi_free(s->xb);
    fwi_free(s->q);
    fwi_free(s->k);
    fwi_free(s->v);
    fwi_free(s->att);
    fwi_free(s->hb);
    fwi_free(s->hb2);
    fwi_free(s->logits);
    fwi_free(s->xq);
    fwi_free(s->scores);
    fwi_free(s->rope_cs);
    memset(s, 0, sizeof *s);
}

static int scratch_alloc(fwi_scratch *s, const fwi_hparams *hp, int n_batch,
                         int n_ctx, int n_threads)
{
    size_t b = (size_t)n_batch;
    size_t qd = (size_t)hp->n_head * (size_t)hp->head_dim;
    size_t kvd = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    size_t wide = (size_t)(hp->n_ff > hp->n_embd ? hp->n_ff : hp->n_embd);
    if ((size_t)qd > wide)
        wide = qd;
    s->n_batch = n_batch;
    s->n_ctx = n_ctx;
    s->n_threads = n_threads;
    s->x = fwi_malloc_array(b * (size_t)hp->n_embd, sizeof(float));
    s->xb = fwi_malloc_array(b * (size_t)hp->n_embd, sizeof(float));
    s->q = fwi_malloc_array(b * qd, sizeof(float));
    s->k = fwi_malloc_array(b * kvd, sizeof(float));
    s->v = fwi_malloc_array(b * kvd, sizeof(float));
    s->att = fwi_malloc_array(b * qd, sizeof(float));
    s->hb = fwi_malloc_array(b * (size_t)hp->n_ff, sizeof(float));
    s->hb2 = fwi_malloc_array(b * (size_t)hp->n_ff, sizeof(float));
    s->logits = fwi_malloc_array(b * (size_t)hp->n_vocab, sizeof(float));
    s->xq = fwi_malloc_array(b, fwi_row_size(FWI_TYPE_Q8_0, (int64_t)((wide + 31) / 32 * 32)));
    s->scores = fwi_malloc_array((size_t)n_threads * (size_t)n_ctx, sizeof(float));
    s->rope_cs = fwi_malloc_array(b * (size_t)hp->n_rot, sizeof(float));
    return s->x && s->xb && s->q && s->k && s->v && s->att && s->hb && s->hb2 &&
                   s->logits && s->xq && s->scores && s->rope_cs
               ? 0 : -1;
}

FW_API fw_status fw_context_new(const fw_model *model,
                                const fw_context_params *params,
                                fw_context **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out_ctx is NULL");
    *out = NULL;
    if (!fwi_model_ok(model))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "model is NULL or freed");
    if (!model->llama)
        return fwi_fail(model, FW_E_UNSUPPORTED,
                        "the model has no usable weights (architecture '%s', "
                        "%lld tensors%s)",
                        model->arch, (long long)model->gguf.n_tensors,
                        model->metadata_only ? ", loaded metadata-only" : "");
    fw_context_params p;
    fw_context_params_init(&p);
    fw_status st = fwi_params_copy(&p, sizeof p, params, "fw_context_params",
                                   NULL);
    if (st != FW_OK)
        return st;
    const fwi_hparams *hp = &model->llama->hp;

    /* kernel level: params, then FWINFER_ISA, then the CPU's best */
    enum fwi_isa isa = fwi_cpu_detect();
    const char *want = p.isa ? p.isa : getenv("FWINFER_ISA");
    if (want && *want) {
        enum fwi_isa cap;
        if (fwi_isa_from_name(want, &cap) != 0)
            return fwi_fail(NULL, FW_E_INVALID_ARG,
                            "unknown kernel level '%s'%s (this build knows "
                            "scalar and %s)",
                            want, p.isa ? "" : " in FWINFER_ISA",
                            fwi_isa_name(FWI_ISA_COUNT - 1));
        if (cap < isa)
            isa = cap;
    }

    size_t kvd = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    size_t kv_token = (size_t)hp->n_layer * kvd * 2 * sizeof(fwi_f16);
    uint64_t budget = p.kv_budget_bytes ? p.kv_budget_bytes : DEFAULT_KV_BUDGET;
    uint32_t n_ctx = p.n_ctx;
    if (n_ctx == 0) {
        uint64_t fit = budget / kv_token;
        n_ctx = (uint32_t)((uint64_t)hp->n_ctx_train < fit ? (uint64_t)hp->n_ctx_train : fit);
        if (n_ctx < 16)
            n_ctx = 16;
    }
    if (n_ctx > (1u << 24))
        return fwi_fail(NULL, FW_E_RANGE, "n_ctx %u is out of range [1, %u]",
                        n_ctx, 1u << 24);
    uint32_t n_batch = p.n_batch ? p.n_batch : 512;
    if (n_batch > n_ctx)
        n_batch = n_ctx;
    if (n_batch > 65536)
        return fwi_fail(NULL, FW_E_RANGE, "n_batch %u is out of range [1, 65536]",
                        n_batch);
    uint32_t n_threads = p.n_threads;
    if (n_threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = c > 0 ? (uint32_t)c : 1;
    }
    if (n_threads > 512)
        return fwi_fail(NULL, FW_E_RANGE, "n_threads %u is out of range [1, 512]",
                        n_threads);
    uint32_t n_seq = p.n_seq_max ? p.n_seq_max : 1;
    if (n_seq > 1024)
        return fwi_fail(NULL, FW_E_RANGE, "n_seq_max %u is out of range [1, 1024]",
                        n_seq);

    fw_context *c = fwi_calloc(1, sizeof *c);
    if (!c)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    c->magic = CTX_MAGIC;
    c->model = model;
    c->m = model->llama;
    c->n_ctx = n_ctx;
    c->n_batch = n_batch;
    c->n_seq_max = n_seq;
    c->n_threads = n_threads;
    c->kv_seq_elems = (size_t)hp->n_layer * (size_t)n_ctx * kvd;
    atomic_init(&c->cancel, 0);
    atomic_init(&c->layers_done, 0);
    fwi_kernels_init(&c->kernels, isa);
    c->seqs = fwi_calloc(n_seq, sizeof *c->seqs);
    c->pool = fwi_pool_new((int)n_threads);
    if (!c->seqs || !c->pool ||
        scratch_alloc(&c->s, hp, (int)n_batch, (int)n_ctx, (int)n_threads)) {
        fw_context_free(c);
        return fwi_fail(NULL, FW_E_NOMEM,
                        "out of memory creating a context (n_ctx %u, n_batch "
                        "%u, %u threads)",
                        n_ctx, n_batch, n_threads);
    }
    *out = c;
    return FW_OK;
}

FW_API void fw_context_free(fw_context *c)
{
    if (!ctx_ok(c))
        return;
    fwi_pool_free(c->pool);
    for (uint32_t i = 0; c->seqs && i < c->n_seq_max; i++) {
        fwi_free(c->seqs[i].k);
        fwi_free(c->seqs[i].v);
    }
    fwi_free(c->seqs);
    scratch_free(&c->s);
    fwi_free(c->logits);
    c->magic = 0;
    fwi_free(c);
}

FW_API const char *fw_context_errmsg(const fw_context *c)
{
    return ctx_ok(c) ? c->errmsg : "";
}

FW_API uint32_t fw_context_n_ctx(const fw_context *c) { return ctx_ok(c) ? c->n_ctx : 0; }
FW_API uint32_t fw_context_n_seq_max(const fw_context *c) { return ctx_ok(c) ? c->n_seq_max : 0; }
FW_API uint32_t fw_context_n_threads(const fw_context *c) { return ctx_ok(c) ? c->n_threads : 0; }
FW_API const char *fw_context_isa(const fw_context *c)
{
    return ctx_ok(c) ? fwi_isa_name(c->kernels.isa) : "";
}

static fw_status get_seq(fw_context *c, int32_t seq, int alloc, fwi_kv_seq **out)
{
    if (seq < 0 || (uint32_t)seq >= c->n_seq_max)
        return ctx_fail(c, FW_E_RANGE, "sequence %d is out of range [0, %u)",
                        (int)seq, c->n_seq_max);
    fwi_kv_seq *s = &c->seqs[seq];
    if (alloc && !s->k) {
        s->k = fwi_malloc_array(c->kv_seq_elems, sizeof(fwi_f16));
        s->v = fwi_malloc_array(c->kv_seq_elems, sizeof(fwi_f16));
        if (!s->k || !s->v) {
            fwi_free(s->k);
            fwi_free(s->v);
            s->k = s->v = NULL;
            return ctx_fail(c, FW_E_NOMEM,
                            "out of memory for the KV cache of sequence %d "
                            "(%zu bytes)",
                            (int)seq, 2 * c->kv_seq_elems * sizeof(fwi_f16));
        }
        s->len = 0;
    }
    *out = s;
    return FW_OK;
}

FW_API fw_status fw_context_eval(fw_context *c, int32_t seq, int32_t pos,
                                 const fw_token *tokens, size_t n,
                                 uint32_t flags)
{
    if (!ctx_ok(c))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context is NULL or freed");
    c->n_logits = 0;
    c->last_n = 0;
    fwi_kv_seq *s = NULL;
    fw_status st = get_seq(c, seq, 1, &s);
    if (st != FW_OK)
        return st;
    if (n == 0)
        return ctx_fail(c, FW_E_INVALID_ARG, "no tokens to evaluate");
    if (!tokens)
        return ctx_fail(c, FW_E_INVALID_ARG, "tokens is NULL");
    if (flags & ~FW_EVAL_ALL_LOGITS)
        return ctx_fail(c, FW_E_INVALID_ARG, "unknown eval flags 0x%x",
                        (unsigned)flags);
    if (pos < 0 || pos > s->len)
        return ctx_fail(c, FW_E_RANGE,
                        "position %d is out of order: sequence %d has %d "
                        "positions, so the next one must be <= %d",
                        (int)pos, (int)seq, (int)s->len, (int)s->len);
    if (n > (size_t)c->n_ctx - (size_t)pos)
        return ctx_fail(c, FW_E_CONTEXT_FULL,
                        "context full: %zu tokens at position %d exceed n_ctx "
                        "%u",
                        n, (int)pos, c->n_ctx);
    const int32_t n_vocab = c->m->hp.n_vocab;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return ctx_fail(c, FW_E_RANGE,
                            "token %d at index %zu is out of range [0, %d)",
                            (int)tokens[i], i, (int)n_vocab);
    int all = (flags & FW_EVAL_ALL_LOGITS) != 0;
    size_t keep = all ? n : 1;
    if (keep > c->logits_cap) {
        float *l = fwi_realloc(c->logits, keep * (size_t)n_vocab * sizeof *l);
        if (!l)
            return ctx_fail(c, FW_E_NOMEM, "out of memory for %zu logits rows",
                            keep);
        c->logits = l;
        c->logits_cap = keep;
    }
    s->len = pos;
    int32_t start_len = s->len;
    fwi_forward f = {c->m, &c->kernels, c->pool, &c->s, &c->cancel,
                     &c->layers_done};
    for (size_t done = 0; done < n;) {
        int32_t chunk = (int32_t)(n - done < c->n_batch ? n - done : c->n_batch);
        int last_chunk = done + (size_t)chunk == n;
        st = fwi_llama_forward(&f, s, tokens + done, chunk, all);
        if (st != FW_OK) {
            s->len = start_len; /* keep what was there before this call */
            atomic_store(&c->cancel, 0);
            if (st == FW_E_CANCELLED)
                return ctx_fail(c, st, "evaluation cancelled");
            if (st == FW_E_NUMERIC)
                return ctx_fail(c, st,
                                "the model produced NaN or infinite logits "
                                "at positions %d..%d of sequence %d",
                                (int)(pos + (int32_t)done),
                                (int)(pos + (int32_t)done + chunk - 1), (int)seq);
            return ctx_fail(c, st, "evaluation failed");
        }
        if (all)
            memcpy(c->logits + done * (size_t)n_vocab, c->s.logits,
                   (size_t)chunk * (size_t)n_vocab * sizeof(float));
        else if (last_chunk)
            memcpy(c->logits, c->s.logits, (size_t)n_vocab * sizeof(float));
        done += (size_t)chunk;
    }
    c->last_n = (int32_t)n;
    c->n_logits = (int32_t)keep;
    c->logits_first = all ? 0 : (int32_t)n - 1;
    return FW_OK;
}

FW_API const float *fw_context_logits(const fw_context *c, int32_t i)
{
    if (!ctx_ok(c) || c->last_n == 0)
        return NULL;
    if (i < 0)
        i += c->last_n;
    if (i < c->logits_first || i >= c->logits_first + c->n_logits)
        return NULL;
    return c->logits + (size_t)(i - c->logits_first) * (size_t)c->m->hp.n_vocab;
}

FW_API int32_t fw_context_seq_len(const fw_context *c, int32_t seq)
{
    if (!ctx_ok(c) || seq < 0 || (uint32_t)seq >= c->n_seq_max)
        return 0;
    return c->seqs[seq].len;
}

FW_API fw_status fw_context_seq_truncate(fw_context *c, int32_t seq,
                                         int32_t len)
{
    if (!ctx_ok(c))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context is NULL or freed");
    fwi_kv_seq *s = NULL;
    fw_status st = get_seq(c, seq, 0, &s);
    if (st != FW_OK)
        return st;
    if (len < 0 || len > s->len)
        return ctx_fail(c, FW_E_RANGE,
                        "cannot truncate sequence %d of length %d to %d",
                        (int)seq, (int)s->len, (int)len);
    s->len = len;
    return FW_OK;
}

FW_API fw_status fw_context_seq_clear(fw_context *c, int32_t seq)
{
    if (!ctx_ok(c))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context is NULL or freed");
    fwi_kv_seq *s = NULL;
    fw_status st = get_seq(c, seq, 0, &s);
    if (st == FW_OK)
        s->len = 0;
    return st;
}

FW_API fw_status fw_context_seq_copy(fw_context *c, int32_t src, int32_t dst)
{
    if (!ctx_ok(c))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context is NULL or freed");
    fwi_kv_seq *a = NULL, *b = NULL;
    fw_status st = get_seq(c, src, 0, &a);
    if (st == FW_OK)
        st = get_seq(c, dst, 1, &b);
    if (st != FW_OK || a == b)
        return st;
    const fwi_hparams *hp = &c->m->hp;
    size_t kvd = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    size_t rows = (size_t)a->len * kvd;
    for (int l = 0; l < hp->n_layer && rows; l++) {
        size_t off = (size_t)l * (size_t)c->n_ctx * kvd;
        memcpy(b->k + off, a->k + off, rows * sizeof(fwi_f16));
        memcpy(b->v + off, a->v + off, rows * sizeof(fwi_f16));
    }
    b->len = a->len;
    return FW_OK;
}

FW_API void fw_context_cancel(fw_context *c)
{
    if (ctx_ok(c))
        atomic_store(&c->cancel, 1);
}

FW_API uint64_t fw_context_layers_done(const fw_context *c)
{
    return ctx_ok(c) ? (uint64_t)atomic_load(&c->layers_done) : 0;
}
