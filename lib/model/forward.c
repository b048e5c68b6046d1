/*
 * forward.c - the llama forward pass over a batch of tokens of one sequence.
 *
 * Per layer (x: the residual stream, one row of n_embd per token):
 *   xb = rmsnorm(x) * attn_norm
 *   q, k, v = Wq xb, Wk xb, Wv xb            (one parallel region)
 *   rotate q and k by position (RoPE); append k, v to the F16 cache
 *   att = softmax(q k^T / sqrt(head_dim)) v   per head, causal, GQA
 *   x += Wo att
 *   xb = rmsnorm(x) * ffn_norm
 *   x += W_down (silu(W_gate xb) * (W_up xb))
 * then logits = W_out (rmsnorm(x) * out_norm) for the tokens asked for.
 *
 * Matrix products split the rows of each weight between threads; every
 * output element is computed by exactly one kernel call whose result does
 * not depend on the split, so the logits do not depend on the thread count.
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "core/threadpool.h"
#include "llama.h"

/* ---- parallel matrix products ---- */

typedef struct mm_job {
    const fwi_weight *w;
    float *out;          /* [n_tok][w->rows] */
} mm_job;

typedef struct mm_task {
    const fwi_forward *f;
    mm_job jobs[3];
    int n_jobs;
    const float *xf;     /* activations as f32 rows of n floats */
    const void *xq;      /* the same rows in Q8_0 */
    size_t xq_stride;
    int n;               /* input width */
    int n_tok;
} mm_task;

static void mm_run(void *arg, int ith, int nth)
{
    const mm_task *t = arg;
    const fwi_kernels *k = t->f->k;
    for (int j = 0; j < t->n_jobs; j++) {
        const fwi_weight *w = t->jobs[j].w;
        int rows = (int)w->rows;
        /* contiguous row ranges, multiples of 16 rows */
        int chunk = ((rows + nth - 1) / nth + 15) & ~15;
        int r0 = ith * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
        if (r0 >= r1)
            continue;
        const fwi_type_traits *tt = fwi_type_traits_get(w->type);
        int quant = tt->vec_dot_type == FWI_TYPE_Q8_0;
        const void *x = quant ? t->xq : (const void *)t->xf;
        size_t xs = quant ? t->xq_stride : (size_t)t->n * sizeof(float);
        if (t->n_tok == 1)
            k->matvec[w->type](t->jobs[j].out, w->data, w->row_bytes, x, t->n,
                               r0, r1);
        else
            k->matmul[w->type](t->jobs[j].out, (size_t)rows, w->data,
                               w->row_bytes, x, xs, t->n, r0, r1, t->n_tok);
    }
}

typedef struct quant_task {
    const fwi_forward *f;
    const float *x;
    int n, n_tok;
} quant_task;

static void quant_run(void *arg, int ith, int nth)
{
    const quant_task *t = arg;
    fwi_scratch *s = t->f->s;
    for (int i = ith; i < t->n_tok; i += nth)
        t->f->k->quantize_row[FWI_TYPE_Q8_0]((char *)s->xq + (size_t)i * s->xq_stride,
                                             t->x + (size_t)i * t->n, t->n);
}

/* out_j = W_j x for up to three weights sharing the input x[n_tok][n]. */
static void matmuls(const fwi_forward *f, const float *x, int n, int n_tok,
                    const mm_job *jobs, int n_jobs)
{
    fwi_scratch *s = f->s;
    int need_q = 0;
    for (int j = 0; j < n_jobs; j++)
        need_q |= fwi_type_traits_get(jobs[j].w->type)->vec_dot_type == FWI_TYPE_Q8_0;
    s->xq_stride = fwi_row_size(FWI_TYPE_Q8_0, n);
    if (need_q) {
        quant_task qt = {f, x, n, n_tok};
        fwi_pool_run(f->pool, quant_run, &qt);
    }
    mm_task t = {.f = f, .n_jobs = n_jobs, .xf = x, .xq = s->xq,
                 .xq_stride = s->xq_stride, .n = n, .n_tok = n_tok};
    for (int j = 0; j < n_jobs; j++)
        t.jobs[j] = jobs[j];
    fwi_pool_run(f->pool, mm_run, &t);
}

/* ---- attention ----
 *
 * The numerics of ggml's CPU flash attention, which llama.cpp uses by
 * default: the query is rounded to F16 like the cached keys; scores are
 * scale * dot(q, k); the softmax is computed online and the weighted sum of
 * values is accumulated in F16:
 *     for each position j:  if s_j > M: M = s_j, rescale acc and S by
 *                           exp(M_old - M); else w = exp(s_j - M)
 *                           acc = f16(acc + w * v_j);  S = S * ms + w
 *     out = acc / S
 * This reproduces llama.cpp's logits to float rounding (1e-7 relative on
 * F32 models) instead of differing by its F16 rounding (~1e-3). */

typedef struct att_task {
    const fwi_forward *f;
    const fwi_kv_seq *kv;
    int layer, pos0, n_tok;
} att_task;

static void att_run(void *arg, int ith, int nth)
{
    const att_task *t = arg;
    const fwi_hparams *hp = &t->f->m->hp;
    const fwi_kernels *k = t->f->k;
    fwi_scratch *s = t->f->s;
    const int hd = hp->head_dim, kvd = hp->n_head_kv * hd;
    const int group = hp->n_head / hp->n_head_kv;
    const float scale = 1.0f / sqrtf((float)hd);
    const size_t layer_off = (size_t)t->layer * (size_t)s->n_ctx * (size_t)kvd;
    float *sc = s->scores + (size_t)ith * (size_t)s->n_ctx;
    float *qr = s->att_q + (size_t)ith * (size_t)hd;
    fwi_f16 *acc = s->att_acc + (size_t)ith * (size_t)hd;
    int n_tasks = t->n_tok * hp->n_head;
    for (int task = ith; task < n_tasks; task += nth) {
        int i = task / hp->n_head, h = task % hp->n_head;
        int n_kv = t->pos0 + i + 1; /* causal: positions 0..pos */
        const float *q = s->q + (size_t)i * (size_t)(hp->n_head * hd) + (size_t)h * hd;
        const fwi_f16 *kc = t->kv->k + layer_off + (size_t)(h / group) * hd;
        const fwi_f16 *vc = t->kv->v + layer_off + (size_t)(h / group) * hd;
        k->cvt_f32_to_f16(acc, q, hd); /* acc as scratch for the f16 query */
        k->cvt_f16_to_f32(qr, acc, hd);
        k->attn_scores_f16(sc, qr, kc, (size_t)kvd, n_kv, hd, scale);
        memset(acc, 0, (size_t)hd * sizeof *acc);
        float M = -INFINITY, S = 0.0f;
        for (int j = 0; j < n_kv; j++) {
            float ms = 1.0f, w = 1.0f;
            if (sc[j] > M) {
                float m_old = M;
                M = sc[j];
                ms = expf(m_old - M);
                k->vec_scale_f16(acc, ms, hd);
            } else {
                w = expf(sc[j] - M);
            }
            k->vec_mad_f16(acc, vc + (size_t)j * (size_t)kvd, w, hd);
            S = S * ms + w;
        }
        float *y = s->att + (size_t)i * (size_t)(hp->n_head * hd) + (size_t)h * hd;
        k->cvt_f16_to_f32(y, acc, hd);
        k->scale(y, y, 1.0f / S, hd);
    }
}

/* ---- per-token helpers ---- */

typedef struct rope_task {
    const fwi_forward *f;
    fwi_kv_seq *kv;
    int layer, pos0, n_tok;
} rope_task;

static void rope_run(void *arg, int ith, int nth)
{
    const rope_task *t = arg;
    const fwi_hparams *hp = &t->f->m->hp;
    const fwi_kernels *k = t->f->k;
    fwi_scratch *s = t->f->s;
    const int hd = hp->head_dim, kvd = hp->n_head_kv * hd;
    for (int i = ith; i < t->n_tok; i += nth) {
        const float *cs = s->rope_cs + (size_t)i * (size_t)hp->n_rot;
        float *q = s->q + (size_t)i * (size_t)(hp->n_head * hd);
        float *kk = s->k + (size_t)i * (size_t)kvd;
        k->rope(q, hp->n_head, hd, hp->n_rot, cs, 0);
        k->rope(kk, hp->n_head_kv, hd, hp->n_rot, cs, 0);
        size_t row = ((size_t)t->layer * (size_t)s->n_ctx + (size_t)(t->pos0 + i)) *
                     (size_t)kvd;
        k->cvt_f32_to_f16(t->kv->k + row, kk, kvd);
        k->cvt_f32_to_f16(t->kv->v + row, s->v + (size_t)i * (size_t)kvd, kvd);
    }
}

static void embed(const fwi_llama *m, const int32_t *tokens, int n, float *x)
{
    const fwi_weight *e = &m->tok_embd;
    const fwi_type_traits *tt = fwi_type_traits_get(e->type);
    for (int i = 0; i < n; i++)
        tt->to_float((const char *)e->data + (size_t)tokens[i] * e->row_bytes,
                     x + (size_t)i * (size_t)m->hp.n_embd, (int)e->cols);
}

fw_status fwi_llama_forward(const fwi_forward *f, fwi_kv_seq *kv,
                            const int32_t *tokens, int32_t n, int all_logits)
{
    const fwi_llama *m = f->m;
    const fwi_hparams *hp = &m->hp;
    const fwi_kernels *k = f->k;
    fwi_scratch *s = f->s;
    const int e = hp->n_embd, qd = hp->n_head * hp->head_dim,
              kvd = hp->n_head_kv * hp->head_dim;
    const int pos0 = kv->len;

    embed(m, tokens, n, s->x);
    for (int i = 0; i < n; i++)
        fwi_rope_cache(s->rope_cs + (size_t)i * (size_t)hp->n_rot, hp->n_rot,
                       (float)(pos0 + i), hp->rope_freq_base, 1.0f, NULL, 1.0f);

    for (int l = 0; l < hp->n_layer; l++) {
        if (f->cancel && atomic_load(f->cancel))
            return FW_E_CANCELLED;
        const fwi_layer *L = &m->layers[l];
        /* attention */
        for (int i = 0; i < n; i++)
            k->rmsnorm(s->xb + (size_t)i * e, s->x + (size_t)i * e, L->attn_norm,
                       e, hp->rms_eps);
        mm_job qkv[3] = {{&L->wq, s->q}, {&L->wk, s->k}, {&L->wv, s->v}};
        matmuls(f, s->xb, e, n, qkv, 3);
        rope_task rt = {f, kv, l, pos0, n};
        fwi_pool_run(f->pool, rope_run, &rt);
        att_task at = {f, kv, l, pos0, n};
        fwi_pool_run(f->pool, att_run, &at);
        mm_job o = {&L->wo, s->xb};
        matmuls(f, s->att, qd, n, &o, 1);
        k->add(s->x, s->x, s->xb, n * e);
        /* feed-forward */
        for (int i = 0; i < n; i++)
            k->rmsnorm(s->xb + (size_t)i * e, s->x + (size_t)i * e, L->ffn_norm,
                       e, hp->rms_eps);
        mm_job gu[2] = {{&L->w_gate, s->hb}, {&L->w_up, s->hb2}};
        matmuls(f, s->xb, e, n, gu, 2);
        k->silu_mul(s->hb, s->hb, s->hb2, n * hp->n_ff);
        mm_job d = {&L->w_down, s->xb};
        matmuls(f, s->hb, hp->n_ff, n, &d, 1);
        k->add(s->x, s->x, s->xb, n * e);
        if (f->layers_done)
            atomic_fetch_add(f->layers_done, 1);
    }
    if (f->cancel && atomic_load(f->cancel))
        return FW_E_CANCELLED;

    /* logits of the last token, or of all */
    int first = all_logits ? 0 : n - 1, n_out = n - first;
    for (int i = 0; i < n_out; i++)
        k->rmsnorm(s->xb + (size_t)i * e, s->x + (size_t)(first + i) * e,
                   m->out_norm, e, hp->rms_eps);
    mm_job out = {&m->output, s->logits};
    matmuls(f, s->xb, e, n_out, &out, 1);
    for (size_t i = 0; i < (size_t)n_out * (size_t)hp->n_vocab; i++)
        if (!isfinite(s->logits[i]))
            return FW_E_NUMERIC;
    kv->len = pos0 + n;
    (void)kvd;
    return FW_OK;
}
