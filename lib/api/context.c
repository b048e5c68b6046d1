/* context.c - public entry points: contexts, evaluation, sequences. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    fwi_kv_seq **tok_kv;     /* [n_batch]: sequence of each token of a pass */
    int32_t *tok_pos;        /* [n_batch]: its position */
    int32_t *seq_next;       /* [n_seq_max]: fw_context_eval_batch's check */
    int32_t *seq_start;      /* [n_seq_max]: lens to restore on failure */
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
    for (int j = 0; j < FWI_AQ_COUNT; j++) {
        fwi_free(s->xq[j]);
        fwi_free(s->xqt[j]);
    }
    fwi_free(s->scores);
    fwi_free(s->att_q);
    fwi_free(s->att_acc);
    fwi_free(s->rope_cs);
    fwi_free(s->rope_cs_swa);
    fwi_free(s->xbt);
    memset(s, 0, sizeof *s);
}

static int scratch_alloc(fwi_scratch *s, const fwi_llama *m, int n_batch,
                         int n_ctx, int n_threads)
{
    const fwi_hparams *hp = &m->hp;
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
    /* quantised activation rows, for the formats the weights use (the
     * row length rounded up to the largest block, 256) */
    int xq_ok = 1;
    for (int j = 0; j < FWI_AQ_COUNT; j++) {
        if (!(m->act_formats >> j & 1))
            continue;
        const size_t rs = fwi_row_size(fwi_aq_type(j), (int64_t)((wide + 255) / 256 * 256));
        s->xq[j] = fwi_malloc_array(b, rs);
        s->xqt_stride[j] = (rs + 63) / 64 * 64;
        s->xqt[j] = fwi_malloc_array((size_t)n_threads, s->xqt_stride[j]);
        xq_ok &= s->xq[j] && s->xqt[j];
    }
    s->scores = fwi_malloc_array((size_t)n_threads * (size_t)fwi_att_heads(hp) * (size_t)n_ctx,
                                 sizeof(float));
    s->rope_cs = fwi_malloc_array(b * (size_t)hp->n_rot, sizeof(float));
    /* sliding-window layers rotate with their own base (gemma) */
    const int swa_rope = hp->n_swa > 0 && (hp->rope_freq_base_swa != hp->rope_freq_base ||
                                           hp->rope_freq_scale_swa != hp->rope_freq_scale);
    s->rope_cs_swa = swa_rope ? fwi_malloc_array(b * (size_t)hp->n_rot, sizeof(float)) : NULL;
    s->att_q = fwi_malloc_array((size_t)n_threads * (size_t)hp->head_dim, sizeof(float));
    s->att_acc = fwi_malloc_array((size_t)n_threads * (size_t)hp->head_dim, sizeof(fwi_f16));
    /* per-thread rows, 64-byte apart (no false sharing) */
    s->xbt_stride = ((size_t)hp->n_embd + 15) / 16 * 16;
    s->xbt = fwi_malloc_array((size_t)n_threads * s->xbt_stride, sizeof(float));
    return s->x && s->xb && s->q && s->k && s->v && s->att && s->hb && s->hb2 &&
                   s->logits && xq_ok && s->scores && s->rope_cs && s->att_q &&
                   s->att_acc && s->xbt && (!swa_rope || s->rope_cs_swa)
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
    c->tok_kv = fwi_calloc(n_batch, sizeof *c->tok_kv);
    c->tok_pos = fwi_calloc(n_batch, sizeof *c->tok_pos);
    c->seq_next = fwi_calloc(n_seq, sizeof *c->seq_next);
    c->seq_start = fwi_calloc(n_seq, sizeof *c->seq_start);
    c->pool = fwi_pool_new((int)n_threads);
    if (!c->seqs || !c->pool || !c->tok_kv || !c->tok_pos || !c->seq_next ||
        !c->seq_start ||
        scratch_alloc(&c->s, model->llama, (int)n_batch, (int)n_ctx, (int)n_threads)) {
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
    fwi_free(c->tok_kv);
    fwi_free(c->tok_pos);
    fwi_free(c->seq_next);
    fwi_free(c->seq_start);
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

/* Room for `keep` rows of logits. */
static fw_status logits_reserve(fw_context *c, size_t keep)
{
    if (keep <= c->logits_cap)
        return FW_OK;
    float *l = fwi_realloc(c->logits, keep * (size_t)c->m->hp.n_vocab * sizeof *l);
    if (!l)
        return ctx_fail(c, FW_E_NOMEM, "out of memory for %zu logits rows", keep);
    c->logits = l;
    c->logits_cap = keep;
    return FW_OK;
}

static fw_status check_tokens(fw_context *c, const fw_token *tokens, size_t n)
{
    const int32_t n_vocab = c->m->hp.n_vocab;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return ctx_fail(c, FW_E_RANGE,
                            "token %d at index %zu is out of range [0, %d)",
                            (int)tokens[i], i, (int)n_vocab);
    return FW_OK;
}

/* Evaluate n checked tokens in passes of n_batch; token i of sequence
 * seq_of(i) at position pos_of(i) (one sequence from pos0 when seqs is
 * NULL).  Keeps the logits of every token (all) or of the last one. */
static fw_status eval_passes(fw_context *c, const fw_token *tokens, const int32_t *seqs,
                             const int32_t *pos, int32_t seq0, int32_t pos0, size_t n,
                             int all)
{
    const size_t n_vocab = (size_t)c->m->hp.n_vocab;
    fwi_forward f = {c->m, &c->kernels, c->pool, &c->s, &c->cancel, &c->layers_done};
    for (size_t done = 0; done < n;) {
        int32_t chunk = (int32_t)(n - done < c->n_batch ? n - done : c->n_batch);
        for (int32_t i = 0; i < chunk; i++) {
            size_t j = done + (size_t)i;
            c->tok_kv[i] = &c->seqs[seqs ? seqs[j] : seq0];
            c->tok_pos[i] = pos ? pos[j] : pos0 + (int32_t)j;
        }
        fw_status st = fwi_llama_forward(&f, c->tok_kv, c->tok_pos, tokens + done,
                                         chunk, all);
        if (st != FW_OK) {
            atomic_store(&c->cancel, 0);
            if (st == FW_E_CANCELLED)
                return ctx_fail(c, st, "evaluation cancelled");
            if (st == FW_E_NUMERIC)
                return ctx_fail(c, st,
                                "the model produced NaN or infinite logits "
                                "at tokens %zu..%zu of the batch (sequence %d, "
                                "position %d first)",
                                done, done + (size_t)chunk - 1,
                                (int)(seqs ? seqs[done] : seq0),
                                (int)c->tok_pos[0]);
            return ctx_fail(c, st, "evaluation failed");
        }
        if (all)
            memcpy(c->logits + done * n_vocab, c->s.logits,
                   (size_t)chunk * n_vocab * sizeof(float));
        else if (done + (size_t)chunk == n)
            memcpy(c->logits, c->s.logits, n_vocab * sizeof(float));
        done += (size_t)chunk;
    }
    c->last_n = (int32_t)n;
    c->n_logits = all ? (int32_t)n : 1;
    c->logits_first = all ? 0 : (int32_t)n - 1;
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
    int all = (flags & FW_EVAL_ALL_LOGITS) != 0;
    st = check_tokens(c, tokens, n);
    if (st == FW_OK)
        st = logits_reserve(c, all ? n : 1);
    if (st != FW_OK)
        return st;
    s->len = pos;
    st = eval_passes(c, tokens, NULL, NULL, seq, pos, n, all);
    if (st != FW_OK)
        s->len = pos; /* keep what was there before this call */
    return st;
}

FW_API fw_status fw_context_eval_batch(fw_context *c, const fw_token *tokens,
                                       const int32_t *seqs, const int32_t *pos,
                                       size_t n, uint32_t flags)
{
    if (!ctx_ok(c))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context is NULL or freed");
    c->n_logits = 0;
    c->last_n = 0;
    if (n == 0)
        return ctx_fail(c, FW_E_INVALID_ARG, "no tokens to evaluate");
    if (!tokens || !seqs || !pos)
        return ctx_fail(c, FW_E_INVALID_ARG, "%s is NULL",
                        !tokens ? "tokens" : !seqs ? "seqs" : "pos");
    if (flags & ~FW_EVAL_ALL_LOGITS)
        return ctx_fail(c, FW_E_INVALID_ARG, "unknown eval flags 0x%x",
                        (unsigned)flags);
    fw_status st = check_tokens(c, tokens, n);
    if (st != FW_OK)
        return st;
    /* each sequence: consecutive positions from at most its length on */
    for (uint32_t q = 0; q < c->n_seq_max; q++)
        c->seq_next[q] = -1;
    for (size_t i = 0; i < n; i++) {
        fwi_kv_seq *s = NULL;
        st = get_seq(c, seqs[i], 1, &s);
        if (st != FW_OK)
            return st;
        int32_t *next = &c->seq_next[seqs[i]];
        if (*next < 0 ? pos[i] < 0 || pos[i] > s->len : pos[i] != *next)
            return ctx_fail(c, FW_E_RANGE,
                            "token %zu: position %d of sequence %d is out of "
                            "order (the next one must be %s%d)",
                            i, (int)pos[i], (int)seqs[i], *next < 0 ? "<= " : "",
                            (int)(*next < 0 ? s->len : *next));
        if ((uint32_t)pos[i] >= c->n_ctx)
            return ctx_fail(c, FW_E_CONTEXT_FULL,
                            "context full: token %zu at position %d of sequence "
                            "%d exceeds n_ctx %u",
                            i, (int)pos[i], (int)seqs[i], c->n_ctx);
        *next = pos[i] + 1;
    }
    st = logits_reserve(c, n);
    if (st != FW_OK)
        return st;
    /* truncate each sequence to where its tokens start */
    for (uint32_t q = 0; q < c->n_seq_max; q++)
        c->seq_start[q] = -1;
    for (size_t i = 0; i < n; i++)
        if (c->seq_start[seqs[i]] < 0)
            c->seqs[seqs[i]].len = c->seq_start[seqs[i]] = pos[i];
    st = eval_passes(c, tokens, seqs, pos, 0, 0, n, 1);
    if (st != FW_OK)
        for (uint32_t q = 0; q < c->n_seq_max; q++)
            if (c->seq_start[q] >= 0)
                c->seqs[q].len = c->seq_start[q];
    return st;
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

/* ---- state ---- */

#define STATE_MAGIC "FWST"
#define STATE_VERSION 1u

/* header: magic[4], u32 version, u64 fingerprint, u32 n_layer, u32 kv_dim,
 * u32 n_vocab, u32 n_seq (stored), u32 has_logits; then [n_vocab] f32
 * logits if has_logits; then per stored sequence: u32 id, u32 len, and per
 * layer K[len][kv_dim], V[len][kv_dim] as f16. */
typedef struct state_hdr {
    char magic[4];
    uint32_t version;
    uint64_t fingerprint;
    uint32_t n_layer, kv_dim, n_vocab, n_seq, has_logits, reserved;
} state_hdr;

static size_t kv_dim(const fw_context *c)
{
    return (size_t)c->m->hp.n_head_kv * (size_t)c->m->hp.head_dim;
}

static int has_last_logits(const fw_context *c)
{
    return c->last_n > 0 && c->logits_first + c->n_logits == c->last_n;
}

FW_API fw_status fw_context_state_size(const fw_context *c, size_t *size)
{
    if (!ctx_ok(c) || !size)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context or size is NULL");
    size_t n = sizeof(state_hdr);
    if (has_last_logits(c))
        n += (size_t)c->m->hp.n_vocab * sizeof(float);
    for (uint32_t i = 0; i < c->n_seq_max; i++)
        if (c->seqs[i].k && c->seqs[i].len > 0)
            n += 8 + 2 * (size_t)c->m->hp.n_layer * (size_t)c->seqs[i].len *
                         kv_dim(c) * sizeof(fwi_f16);
    *size = n;
    return FW_OK;
}

FW_API fw_status fw_context_state_save(fw_context *c, void *buf, size_t cap,
                                       size_t *n_written)
{
    size_t need;
    fw_status st = fw_context_state_size(c, &need);
    if (st != FW_OK)
        return st;
    if (n_written)
        *n_written = need;
    if (!buf && cap > 0)
        return ctx_fail(c, FW_E_INVALID_ARG, "buf is NULL but cap is %zu", cap);
    if (cap < need)
        return ctx_fail(c, FW_E_BUFFER_TOO_SMALL,
                        "state needs %zu bytes, the buffer has %zu", need, cap);
    const fwi_hparams *hp = &c->m->hp;
    size_t kvd = kv_dim(c);
    state_hdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, STATE_MAGIC, 4);
    h.version = STATE_VERSION;
    h.fingerprint = c->m->fingerprint;
    h.n_layer = (uint32_t)hp->n_layer;
    h.kv_dim = (uint32_t)kvd;
    h.n_vocab = (uint32_t)hp->n_vocab;
    h.has_logits = (uint32_t)has_last_logits(c);
    for (uint32_t i = 0; i < c->n_seq_max; i++)
        h.n_seq += c->seqs[i].k && c->seqs[i].len > 0;
    char *p = buf;
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    if (h.has_logits) {
        const float *l = fw_context_logits(c, -1);
        memcpy(p, l, (size_t)hp->n_vocab * sizeof(float));
        p += (size_t)hp->n_vocab * sizeof(float);
    }
    for (uint32_t i = 0; i < c->n_seq_max; i++) {
        const fwi_kv_seq *s = &c->seqs[i];
        if (!s->k || s->len == 0)
            continue;
        uint32_t meta[2] = {i, (uint32_t)s->len};
        memcpy(p, meta, 8);
        p += 8;
        size_t rows = (size_t)s->len * kvd * sizeof(fwi_f16);
        for (int l = 0; l < hp->n_layer; l++) {
            size_t off = (size_t)l * (size_t)c->n_ctx * kvd;
            memcpy(p, s->k + off, rows);
            p += rows;
            memcpy(p, s->v + off, rows);
            p += rows;
        }
    }
    return FW_OK;
}

FW_API fw_status fw_context_state_load(fw_context *c, const void *buf,
                                       size_t size)
{
    if (!ctx_ok(c))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context is NULL or freed");
    if (!buf)
        return ctx_fail(c, FW_E_INVALID_ARG, "buffer is NULL");
    const fwi_hparams *hp = &c->m->hp;
    size_t kvd = kv_dim(c);
    state_hdr h;
    if (size < sizeof h)
        return ctx_fail(c, FW_E_FORMAT, "state of %zu bytes is too short for "
                        "its header (%zu)", size, sizeof h);
    memcpy(&h, buf, sizeof h);
    if (memcmp(h.magic, STATE_MAGIC, 4) != 0)
        return ctx_fail(c, FW_E_FORMAT, "not a libfwinfer state (bad magic)");
    if (h.version != STATE_VERSION)
        return ctx_fail(c, FW_E_UNSUPPORTED,
                        "state format version %u is not supported (this "
                        "library writes %u)",
                        h.version, STATE_VERSION);
    if (h.fingerprint != c->m->fingerprint || h.n_layer != (uint32_t)hp->n_layer ||
        h.kv_dim != kvd || h.n_vocab != (uint32_t)hp->n_vocab)
        return ctx_fail(c, FW_E_FORMAT, "the state was saved for another model");
    /* validate everything before touching the context */
    const char *p = (const char *)buf + sizeof h, *end = (const char *)buf + size;
    if (h.has_logits > 1)
        return ctx_fail(c, FW_E_FORMAT, "state: bad logits flag");
    size_t lbytes = h.has_logits ? (size_t)hp->n_vocab * sizeof(float) : 0;
    if ((size_t)(end - p) < lbytes)
        return ctx_fail(c, FW_E_FORMAT, "state is truncated (logits)");
    const char *logits = p;
    p += lbytes;
    const char *seq_start = p;
    for (uint32_t k = 0; k < h.n_seq; k++) {
        uint32_t meta[2];
        if ((size_t)(end - p) < 8)
            return ctx_fail(c, FW_E_FORMAT, "state is truncated (sequence %u)", k);
        memcpy(meta, p, 8);
        if (meta[0] >= c->n_seq_max)
            return ctx_fail(c, FW_E_RANGE,
                            "state holds sequence %u but the context has %u",
                            meta[0], c->n_seq_max);
        if (meta[1] > c->n_ctx)
            return ctx_fail(c, FW_E_CONTEXT_FULL,
                            "state sequence %u has %u positions, more than "
                            "n_ctx %u",
                            meta[0], meta[1], c->n_ctx);
        size_t bytes = 2 * (size_t)hp->n_layer * (size_t)meta[1] * kvd * sizeof(fwi_f16);
        p += 8;
        if ((size_t)(end - p) < bytes)
            return ctx_fail(c, FW_E_FORMAT, "state is truncated (sequence %u)",
                            meta[0]);
        p += bytes;
    }
    if (p != end)
        return ctx_fail(c, FW_E_FORMAT, "state has %zu trailing bytes",
                        (size_t)(end - p));
    /* allocate everything first, so a failure changes nothing */
    float *new_logits = NULL;
    if (h.has_logits && c->logits_cap < 1) {
        new_logits = fwi_malloc(lbytes);
        if (!new_logits)
            return ctx_fail(c, FW_E_NOMEM, "out of memory for the state's logits");
    }
    p = seq_start;
    for (uint32_t k = 0; k < h.n_seq; k++) {
        uint32_t meta[2];
        memcpy(meta, p, 8);
        fwi_kv_seq *s;
        fw_status st = get_seq(c, (int32_t)meta[0], 1, &s);
        if (st != FW_OK) {
            fwi_free(new_logits);
            return st;
        }
        p += 8 + 2 * (size_t)hp->n_layer * (size_t)meta[1] * kvd * sizeof(fwi_f16);
    }
    for (uint32_t i = 0; i < c->n_seq_max; i++)
        c->seqs[i].len = 0;
    p = seq_start;
    for (uint32_t k = 0; k < h.n_seq; k++) {
        uint32_t meta[2];
        memcpy(meta, p, 8);
        p += 8;
        fwi_kv_seq *s = &c->seqs[meta[0]];
        size_t rows = (size_t)meta[1] * kvd * sizeof(fwi_f16);
        for (int l = 0; l < hp->n_layer; l++) {
            size_t off = (size_t)l * (size_t)c->n_ctx * kvd;
            memcpy(s->k + off, p, rows);
            p += rows;
            memcpy(s->v + off, p, rows);
            p += rows;
        }
        s->len = (int32_t)meta[1];
    }
    c->n_logits = 0;
    c->last_n = 0;
    if (h.has_logits && c->logits_cap >= 1) {
        memcpy(c->logits, logits, lbytes);
        c->last_n = 1, c->n_logits = 1, c->logits_first = 0;
    } else if (h.has_logits) {
        memcpy(new_logits, logits, lbytes);
        fwi_free(c->logits);
        c->logits = new_logits;
        c->logits_cap = 1;
        c->last_n = 1, c->n_logits = 1, c->logits_first = 0;
    }
    return FW_OK;
}

FW_API fw_status fw_context_state_save_file(fw_context *c, const char *path)
{
    if (!ctx_ok(c) || !path)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context or path is NULL");
    size_t n;
    fw_status st = fw_context_state_size(c, &n);
    if (st != FW_OK)
        return st;
    void *buf = fwi_malloc(n);
    if (!buf)
        return ctx_fail(c, FW_E_NOMEM, "out of memory for a %zu-byte state", n);
    st = fw_context_state_save(c, buf, n, &n);
    if (st == FW_OK) {
        FILE *f = fopen(path, "wb");
        if (!f) {
            st = ctx_fail(c, FW_E_IO, "%s: cannot create: %s", path, strerror(errno));
        } else {
            /* only a regular file is removed after a failed write, never a
             * device (/dev/full) or a FIFO */
            struct stat sb;
            int regular = fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode);
            size_t w = fwrite(buf, 1, n, f);
            int e1 = w != n ? errno : 0;
            int rc = fclose(f);
            int e2 = rc ? errno : 0;
            if (w != n || rc != 0) {
                if (regular)
                    remove(path);
                st = ctx_fail(c, FW_E_IO, "%s: writing %zu bytes failed: %s", path,
                              n, strerror(e1 ? e1 : e2 ? e2 : EIO));
            }
        }
    }
    fwi_free(buf);
    return st;
}

FW_API fw_status fw_context_state_load_file(fw_context *c, const char *path)
{
    if (!ctx_ok(c) || !path)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context or path is NULL");
    fwi_mapfile mf;
    fw_status st = fwi_mapfile_open(&mf, path, 1, c);
    if (st != FW_OK) {
        snprintf(c->errmsg, sizeof c->errmsg, "%s", fw_last_error());
        return st;
    }
    st = fw_context_state_load(c, mf.data, (size_t)mf.size);
    fwi_mapfile_close(&mf);
    return st;
}

fw_status fwi_context_record(fw_context *c, fw_status st);
fw_status fwi_context_record(fw_context *c, fw_status st)
{
    if (st != FW_OK && ctx_ok(c))
        snprintf(c->errmsg, sizeof c->errmsg, "%s", fw_last_error());
    return st;
}

const fw_model *fwi_context_model(const fw_context *c);
const fw_model *fwi_context_model(const fw_context *c)
{
    return ctx_ok(c) ? c->model : NULL;
}
