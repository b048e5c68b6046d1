/*
 * forward.c - the forward pass of every llama-family architecture over a
 * batch of tokens of one sequence (one pass; what an architecture adds is
 * optional, in [brackets], switched by the layer's tensors and fwi_hparams).
 *
 * x = tok_embd[token] [* embd_scale (gemma)]
 * Per layer (x: the residual stream, one row of n_embd per token):
 *   xb = rmsnorm(x) * attn_norm
 *   q, k, v = Wq xb [+ bq], Wk xb [+ bk], Wv xb [+ bv]    (qwen2 biases)
 *   [q, k = rmsnorm per head * q_norm, k_norm]             (qwen3, gemma3)
 *   rotate q and k by position (RoPE, normal or NEOX pairs, the SWA
 *   layers' own base); [q *= q_scale (phi3, gemma)]
 *   append k, v to the F16 cache
 *   att = softmax(s) v, s = kq_scale q k^T [then c tanh(s / c) (gemma2)],
 *         per head, causal [within n_swa positions on SWA layers], GQA
 *   x += Wo att                  [gemma: x += rmsnorm(Wo att) * post_norm]
 *   xb = rmsnorm(x) * ffn_norm
 *   x += W_down (act(W_gate xb) * (W_up xb)), act silu [or gelu (gemma)]
 *                               [gemma: the product rmsnorm'd * post_norm]
 * then logits = W_out (rmsnorm(x) * out_norm) for the tokens asked for
 * [then tanh(logits / c) * c (gemma2)].
 *
 * Threads: the whole pass is one job of the thread pool; its phases are
 * separated by barriers (fwi_pool_barrier), five per layer:
 *   1. Q/K/V rows, each thread then rotates its own heads and writes them
 *      to the cache (row ranges are whole heads)
 *   2. attention, by (token, head)
 *   3. Wo rows, each thread adds its rows to the residual
 *   4. gate/up rows (the same rows of both), then silu(gate) * up on them
 *   5. down rows, added to the residual
 * The work of a phase is handed out in chunks from a shared counter.
 * A matrix product needs its whole input: for one token every thread
 * normalises / quantises the input row itself into its own buffer (no
 * barrier); for a batch the threads split the rows and meet at a barrier.
 *
 * Every output element is computed by exactly one kernel call whose result
 * does not depend on the split (see kernels.h), and the element-wise steps
 * are the same on any split, so the logits do not depend on the thread
 * count.
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "core/threadpool.h"
#include "llama.h"

typedef struct fw_task {
    const fwi_forward *f;
    fwi_kv_seq *const *kv; /* [n]: the sequence of each token */
    const int32_t *pos;    /* [n]: the position of each token */
    int n;          /* tokens in the batch */
    int first;      /* first token with logits */
    int stop;       /* set by thread 0 before a barrier: cancelled */
    /* Work of a phase is handed out in chunks (a shared counter), so a
     * thread that finishes early (memory bandwidth is shared, other
     * processes run) takes more: phase q counts on next[q % 2]; thread 0
     * zeroes next[(q + 1) % 2] during phase q, when nobody uses it. */
    atomic_int next[2];
} fw_task;

/* the work counter of this thread's next phase */
static atomic_int *phase_counter(fw_task *t, int ith, int *q)
{
    const int p = (*q)++;
    if (ith == 0)
        atomic_store_explicit(&t->next[(p + 1) & 1], 0, memory_order_relaxed);
    return &t->next[p & 1];
}

/* chunks of `units` work units: about 4 per thread (1 thread: one chunk;
 * smaller chunks cost bandwidth: every chunk restarts the row streams) */
static int chunk_units(int units, int nth)
{
    if (nth == 1)
        return units > 0 ? units : 1;
    int c = (units + 4 * nth - 1) / (4 * nth);
    return c > 0 ? c : 1;
}

/* next chunk [*u0, *u1) of `units` in chunks of `cu`; 0 when none is left */
static int grab(atomic_int *ctr, int units, int cu, int *u0, int *u1)
{
    const int c = atomic_fetch_add_explicit(ctr, 1, memory_order_relaxed);
    if ((long long)c * cu >= units)
        return 0;
    *u0 = c * cu;
    *u1 = *u0 + cu < units ? *u0 + cu : units;
    return 1;
}

/* ---- activations of a matrix product ---- */

typedef struct act {
    const float *xf;   /* f32 rows (n floats each, row stride xf_stride) */
    size_t xf_stride;  /* in floats */
    /* the same rows quantised, per activation format (FWI_AQ_*; NULL when
     * not needed) */
    const void *xq[FWI_AQ_COUNT];
    size_t xq_stride[FWI_AQ_COUNT]; /* in bytes */
} act;

/* Input rows src[0..n_tok) (stride `stride` floats, n columns), optionally
 * rms-normalised with weight `norm`, quantised to each activation format
 * in the mask `need` (bits FWI_AQ_*).
 * One token: every thread makes its own copy (no barrier). Otherwise the
 * threads split the rows into the shared buffers, then a barrier. */
static act act_prep(const fw_task *t, int ith, int nth, const float *src,
                    size_t stride, int n, int n_tok, const float *norm, unsigned need)
{
    const fwi_forward *f = t->f;
    const fwi_kernels *k = f->k;
    fwi_scratch *s = f->s;
    const float eps = f->m->hp.rms_eps;
    act a;
    memset(&a, 0, sizeof a);
    a.xf = src;
    a.xf_stride = stride;
    for (int j = 0; j < FWI_AQ_COUNT; j++)
        a.xq_stride[j] = fwi_row_size(fwi_aq_type(j), n);
    if (n_tok == 1) {
        if (norm) {
            float *y = s->xbt + (size_t)ith * (size_t)s->xbt_stride;
            k->rmsnorm(y, src, norm, n, eps);
            a.xf = y;
        }
        for (int j = 0; j < FWI_AQ_COUNT; j++)
            if (need >> j & 1) {
                void *q = (char *)s->xqt[j] + (size_t)ith * s->xqt_stride[j];
                k->quantize_row[fwi_aq_type(j)](q, a.xf, n);
                a.xq[j] = q;
            }
        return a;
    }
    if (!norm && !need)
        return a;
    if (norm) {
        a.xf = s->xb;
        a.xf_stride = (size_t)n;
    }
    for (int i = ith; i < n_tok; i += nth) {
        float *y = s->xb + (size_t)i * (size_t)n;
        const float *xi = src + (size_t)i * stride;
        if (norm) {
            k->rmsnorm(y, xi, norm, n, eps);
            xi = y;
        }
        for (int j = 0; j < FWI_AQ_COUNT; j++)
            if (need >> j & 1)
                k->quantize_row[fwi_aq_type(j)]((char *)s->xq[j] + (size_t)i * a.xq_stride[j],
                                                xi, n);
    }
    for (int j = 0; j < FWI_AQ_COUNT; j++)
        if (need >> j & 1)
            a.xq[j] = s->xq[j];
    fwi_pool_barrier(f->pool);
    return a;
}

/* out[t][r0..r1) = W[r0..r1) x_t for all tokens */
static void mm_rows(const fwi_kernels *k, const fwi_weight *w, float *out,
                    const act *a, int n, int n_tok, int r0, int r1)
{
    const int j = fwi_aq_index((int)fwi_type_traits_get(w->type)->vec_dot_type);
    const void *x = j >= 0 ? a->xq[j] : (const void *)a->xf;
    const size_t xs = j >= 0 ? a->xq_stride[j] : a->xf_stride * sizeof(float);
    if (n_tok == 1)
        k->matvec[w->type](out, w->data, w->row_bytes, x, n, r0, r1);
    else
        k->matmul[w->type](out, (size_t)w->rows, w->data, w->row_bytes, x, xs, n,
                           r0, r1, n_tok);
}

/* ---- phase 1: Q, K, V, RoPE, cache ----
 * The rows of Wq, Wk and Wv are handed out in whole heads, so each thread
 * rotates and stores what it computed. */
static void qkv_phase(fw_task *t, int ith, int nth, int *q, const fwi_layer *L, int l)
{
    const fwi_forward *f = t->f;
    const fwi_hparams *hp = &f->m->hp;
    const fwi_kernels *k = f->k;
    fwi_scratch *s = f->s;
    const int e = hp->n_embd, hd = hp->head_dim, n = t->n;
    const int kvd = hp->n_head_kv * hd;
    act a = act_prep(t, ith, nth, s->x, (size_t)e, e, n, L->attn_norm,
                     fwi_weight_aq_mask(&L->wq) | fwi_weight_aq_mask(&L->wk) |
                         fwi_weight_aq_mask(&L->wv));
    const fwi_weight *w[3] = {&L->wq, &L->wk, &L->wv};
    const float *bias[3] = {L->bq, L->bk, L->bv};   /* [rows] or NULL */
    const float *hnorm[2] = {L->q_norm, L->k_norm}; /* [hd] or NULL */
    float *out[3] = {s->q, s->k, s->v};
    const int heads[3] = {hp->n_head, hp->n_head_kv, hp->n_head_kv};
    const float *cs = L->swa && s->rope_cs_swa ? s->rope_cs_swa : s->rope_cs;
    atomic_int *ctr = phase_counter(t, ith, q);
    const int units = hp->n_head + 2 * hp->n_head_kv, cu = chunk_units(units, nth);
    int u0, u1;
    while (grab(ctr, units, cu, &u0, &u1)) {
        /* heads [u0, u1) of the sequence q heads, k heads, v heads */
        for (int j = 0, base = 0; j < 3; base += heads[j], j++) {
            int h0 = u0 - base, h1 = u1 - base;
            h0 = h0 < 0 ? 0 : h0;
            h1 = h1 > heads[j] ? heads[j] : h1;
            if (h0 >= h1)
                continue;
            const int r0 = h0 * hd, r1 = h1 * hd;
            const int rows = heads[j] * hd;
            mm_rows(k, w[j], out[j], &a, e, n, r0, r1);
            for (int i = 0; i < n; i++) {
                float *y = out[j] + (size_t)i * (size_t)rows + (size_t)r0;
                if (bias[j])
                    k->add(y, y, bias[j] + r0, r1 - r0);
                if (j < 2 && hnorm[j])
                    for (int h = 0; h < h1 - h0; h++)
                        k->rmsnorm(y + (size_t)h * hd, y + (size_t)h * hd, hnorm[j], hd,
                                   hp->rms_eps);
                if (j < 2)
                    k->rope(y, h1 - h0, hd, hp->n_rot,
                            cs + (size_t)i * (size_t)hp->n_rot, hp->rope_neox);
                if (j == 0 && hp->q_scale > 0)
                    k->scale(y, y, hp->q_scale, r1 - r0);
                if (j > 0) {
                    size_t row = ((size_t)l * (size_t)s->n_ctx + (size_t)t->pos[i]) *
                                 (size_t)kvd;
                    fwi_f16 *c = (j == 1 ? t->kv[i]->k : t->kv[i]->v) + row + (size_t)r0;
                    k->cvt_f32_to_f16(c, y, r1 - r0);
                }
            }
        }
    }
    fwi_pool_barrier(f->pool);
}

/* ---- phase 2: attention ----
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
static void att_phase(fw_task *t, int ith, int nth, int *qn, int layer)
{
    const fwi_forward *f = t->f;
    const fwi_hparams *hp = &f->m->hp;
    const fwi_kernels *k = f->k;
    fwi_scratch *s = f->s;
    const int hd = hp->head_dim, kvd = hp->n_head_kv * hd;
    const int group = hp->n_head / hp->n_head_kv;
    /* a task: up to ah query heads of one KV group, one token */
    const int ah = fwi_att_heads(hp);
    const int cpg = (group + ah - 1) / ah; /* tasks per group */
    const int per_tok = hp->n_head_kv * cpg;
    const fwi_layer *L = &f->m->layers[layer];
    /* gemma2's soft-capping: s = c * tanh(kq_scale / c * dot) */
    const float cap = hp->attn_softcap;
    const float scale = cap > 0 ? hp->kq_scale / cap : hp->kq_scale;
    const size_t layer_off = (size_t)layer * (size_t)s->n_ctx * (size_t)kvd;
    const size_t ss = (size_t)s->n_ctx;
    float *sc = s->scores + (size_t)ith * (size_t)ah * ss;
    float *qr = s->att_q + (size_t)ith * (size_t)hd;
    fwi_f16 *acc = s->att_acc + (size_t)ith * (size_t)hd;
    atomic_int *ctr = phase_counter(t, ith, qn);
    int task, task1;
    while (grab(ctr, t->n * per_tok, 1, &task, &task1)) {
        const int i = task / per_tok, g = task % per_tok / cpg, c = task % cpg;
        const int h0 = g * group + c * ah;
        const int nh = group - c * ah < ah ? group - c * ah : ah;
        /* causal: positions 0..pos; SWA layers: the last n_swa of them */
        const int pos = t->pos[i];
        const int p0 = L->swa && pos >= hp->n_swa ? pos - hp->n_swa + 1 : 0;
        const int n_kv = pos + 1 - p0;
        const size_t off = layer_off + (size_t)p0 * (size_t)kvd + (size_t)g * hd;
        const fwi_f16 *kc = t->kv[i]->k + off;
        const fwi_f16 *vc = t->kv[i]->v + off;
        for (int h = 0; h < nh; h++) {
            const float *q = s->q + (size_t)i * (size_t)(hp->n_head * hd) + (size_t)(h0 + h) * hd;
            k->cvt_f32_to_f16(acc, q, hd); /* acc as scratch for the f16 query */
            k->cvt_f16_to_f32(qr, acc, hd);
            k->attn_scores_f16(sc + (size_t)h * ss, qr, kc, (size_t)kvd, n_kv, hd, scale);
            if (cap > 0)
                k->softcap(sc + (size_t)h * ss, n_kv, 1.0f, cap);
        }
        float *y = s->att + (size_t)i * (size_t)(hp->n_head * hd) + (size_t)h0 * hd;
        if (k->attn_values_online_f16_heads)
            k->attn_values_online_f16_heads(y, (size_t)hd, sc, ss, vc, (size_t)kvd, n_kv, hd, nh);
        else
            for (int h = 0; h < nh; h++)
                k->attn_values_online_f16(y + (size_t)h * hd, sc + (size_t)h * ss, vc,
                                          (size_t)kvd, n_kv, hd);
    }
    fwi_pool_barrier(f->pool);
}

/* ---- phases 3 and 5: x += W in, split by rows (product in s->xb, which
 * holds no live input here: the batch norms of phases 1 and 4 are used up) */
static void residual_phase(fw_task *t, int ith, int nth, int *q, const fwi_weight *w,
                           const float *in, int n_in, const float *norm,
                           const float *post_norm)
{
    const fwi_forward *f = t->f;
    const fwi_kernels *k = f->k;
    fwi_scratch *s = f->s;
    const int e = f->m->hp.n_embd, n = t->n;
    act a = act_prep(t, ith, nth, in, (size_t)n_in, n_in, n, norm, fwi_weight_aq_mask(w));
    atomic_int *ctr = phase_counter(t, ith, q);
    const int units = (e + 15) / 16, cu = chunk_units(units, nth);
    int u0, u1;
    while (grab(ctr, units, cu, &u0, &u1)) {
        const int r0 = u0 * 16, r1 = u1 * 16 < e ? u1 * 16 : e;
        mm_rows(k, w, s->xb, &a, n_in, n, r0, r1);
        if (post_norm)
            continue; /* needs whole rows: after the barrier */
        for (int i = 0; i < n; i++) {
            float *xi = s->x + (size_t)i * (size_t)e + (size_t)r0;
            k->add(xi, xi, s->xb + (size_t)i * (size_t)e + (size_t)r0, r1 - r0);
        }
    }
    fwi_pool_barrier(f->pool);
    if (!post_norm)
        return;
    /* x += rmsnorm(W in) * post_norm, split by tokens */
    for (int i = ith; i < n; i += nth) {
        float *y = s->xb + (size_t)i * (size_t)e, *xi = s->x + (size_t)i * (size_t)e;
        k->rmsnorm(y, y, post_norm, e, f->m->hp.rms_eps);
        k->add(xi, y, xi, e);
    }
    fwi_pool_barrier(f->pool);
}

/* ---- phase 4: hb = act(W_gate xb) * (W_up xb), split by rows ---- */
static void ffn_up_phase(fw_task *t, int ith, int nth, int *q, const fwi_layer *L)
{
    const fwi_forward *f = t->f;
    const fwi_kernels *k = f->k;
    fwi_scratch *s = f->s;
    const int e = f->m->hp.n_embd, ff = f->m->hp.n_ff, n = t->n;
    act a = act_prep(t, ith, nth, s->x, (size_t)e, e, n, L->ffn_norm,
                     fwi_weight_aq_mask(&L->w_gate) | fwi_weight_aq_mask(&L->w_up));
    atomic_int *ctr = phase_counter(t, ith, q);
    const int units = (ff + 15) / 16, cu = chunk_units(units, nth);
    int u0, u1;
    while (grab(ctr, units, cu, &u0, &u1)) {
        const int r0 = u0 * 16, r1 = u1 * 16 < ff ? u1 * 16 : ff;
        mm_rows(k, &L->w_gate, s->hb, &a, e, n, r0, r1);
        mm_rows(k, &L->w_up, s->hb2, &a, e, n, r0, r1);
        for (int i = 0; i < n; i++) {
            float *g = s->hb + (size_t)i * (size_t)ff + (size_t)r0;
            const float *u = s->hb2 + (size_t)i * (size_t)ff + (size_t)r0;
            if (f->m->hp.ffn_gelu)
                k->gelu_mul(g, g, u, r1 - r0);
            else
                k->silu_mul(g, g, u, r1 - r0);
        }
    }
    fwi_pool_barrier(f->pool);
}

static void forward_run(void *arg, int ith, int nth)
{
    fw_task *t = arg;
    const fwi_forward *f = t->f;
    const fwi_llama *m = f->m;
    const fwi_hparams *hp = &m->hp;
    fwi_scratch *s = f->s;
    const int e = hp->n_embd, qd = hp->n_head * hp->head_dim;
    int q = 0; /* phases passed (the same sequence on every thread) */

    for (int l = 0; l < hp->n_layer; l++) {
        /* thread 0 samples the cancel flag; everyone reads it after the
         * barrier that ends the previous layer (or the one below) */
        if (l == 0) {
            if (ith == 0)
                t->stop = f->cancel && atomic_load(f->cancel);
            fwi_pool_barrier(f->pool);
        }
        if (t->stop)
            return;
        const fwi_layer *L = &m->layers[l];
        qkv_phase(t, ith, nth, &q, L, l);
        att_phase(t, ith, nth, &q, l);
        residual_phase(t, ith, nth, &q, &L->wo, s->att, qd, NULL, L->attn_post_norm);
        ffn_up_phase(t, ith, nth, &q, L);
        if (ith == 0) /* read by all after the barrier ending the layer */
            t->stop = f->cancel && atomic_load(f->cancel);
        residual_phase(t, ith, nth, &q, &L->w_down, s->hb, hp->n_ff, NULL,
                       L->ffn_post_norm);
        if (ith == 0 && f->layers_done)
            atomic_fetch_add(f->layers_done, 1);
    }
    if (t->stop)
        return;

    /* logits of the last token, or of all */
    const int n_out = t->n - t->first;
    act a = act_prep(t, ith, nth, s->x + (size_t)t->first * (size_t)e, (size_t)e, e, n_out,
                     m->out_norm, fwi_weight_aq_mask(&m->output));
    atomic_int *ctr = phase_counter(t, ith, &q);
    const int units = (hp->n_vocab + 15) / 16, cu = chunk_units(units, nth);
    int u0, u1;
    while (grab(ctr, units, cu, &u0, &u1)) {
        const int r1 = u1 * 16 < hp->n_vocab ? u1 * 16 : hp->n_vocab;
        mm_rows(f->k, &m->output, s->logits, &a, e, n_out, u0 * 16, r1);
        for (int i = 0; hp->final_softcap > 0 && i < n_out; i++)
            f->k->softcap(s->logits + (size_t)i * (size_t)hp->n_vocab + (size_t)u0 * 16,
                          r1 - u0 * 16, 1.0f / hp->final_softcap, hp->final_softcap);
    }
}

static void embed(const fwi_llama *m, const int32_t *tokens, int n, float *x)
{
    const fwi_weight *e = &m->tok_embd;
    const fwi_type_traits *tt = fwi_type_traits_get(e->type);
    for (int i = 0; i < n; i++) {
        float *xi = x + (size_t)i * (size_t)m->hp.n_embd;
        tt->to_float((const char *)e->data + (size_t)tokens[i] * e->row_bytes, xi,
                     (int)e->cols);
        if (m->hp.embd_scale > 0) /* gemma: times sqrt(n_embd) */
            for (int j = 0; j < m->hp.n_embd; j++)
                xi[j] *= m->hp.embd_scale;
    }
}

fw_status fwi_llama_forward(const fwi_forward *f, fwi_kv_seq *const *kv,
                            const int32_t *pos, const int32_t *tokens, int32_t n,
                            int all_logits)
{
    const fwi_llama *m = f->m;
    const fwi_hparams *hp = &m->hp;
    fwi_scratch *s = f->s;

    embed(m, tokens, n, s->x);
    /* frequency factors: LongRoPE's long ones past the original context */
    const float *ff = s->n_ctx > hp->n_ctx_orig ? m->rope_ff_long : m->rope_ff;
    for (int i = 0; i < n; i++) {
        fwi_rope_cache(s->rope_cs + (size_t)i * (size_t)hp->n_rot, hp->n_rot,
                       (float)pos[i], hp->rope_freq_base, hp->rope_freq_scale, ff,
                       hp->rope_mscale);
        if (s->rope_cs_swa)
            fwi_rope_cache(s->rope_cs_swa + (size_t)i * (size_t)hp->n_rot, hp->n_rot,
                           (float)pos[i], hp->rope_freq_base_swa,
                           hp->rope_freq_scale_swa, ff, hp->rope_mscale);
    }

    fw_task t = {f, kv, pos, n, all_logits ? 0 : n - 1, 0, {0, 0}};
    fwi_pool_run(f->pool, forward_run, &t);
    if (t.stop)
        return FW_E_CANCELLED;

    const int n_out = n - t.first;
    for (size_t i = 0; i < (size_t)n_out * (size_t)hp->n_vocab; i++)
        if (!isfinite(s->logits[i]))
            return FW_E_NUMERIC;
    for (int i = 0; i < n; i++)
        if (kv[i]->len < pos[i] + 1)
            kv[i]->len = pos[i] + 1;
    return FW_OK;
}
