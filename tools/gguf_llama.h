/*
 * gguf_llama.h - write synthetic llama-architecture GGUF models: given
 * shapes and weight types, seeded random weights (finite, scaled like real
 * ones so activations stay finite), and a synthetic SentencePiece tokenizer.
 * llama.cpp loads the files.  For tests and benchmarks; not part of the
 * library.
 */
#ifndef FW_GGUF_LLAMA_H
#define FW_GGUF_LLAMA_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_llama_spec {
    int n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
    uint32_t type;       /* matrices: 0 F32, 1 F16, 30 BF16, 8 Q8_0, 2 Q4_0 */
    int32_t embd_type;   /* token_embd; -1: same as type */
    int32_t output_type; /* output.weight; -1: same as type */
    int tied;            /* no output.weight (tied to token_embd) */
    uint64_t seed;
    float rope_freq_base, rms_eps;
    /* general.architecture: NULL or "llama", "qwen2", "qwen3", "phi3",
     * "gemma2", "gemma3"; the tensors and keys each has in llama.cpp's
     * converter (qwen2: q/k/v biases; qwen3, gemma3: per-head Q/K norms;
     * phi3: fused attn_qkv and gate+up, LongRoPE factors; gemma: post
     * norms, tied output). Norms, biases and rope factors of the non-llama
     * architectures are random so that they matter: norms around 1 (Q/K
     * norms around 0.25: with ~1 the attention of these random models is
     * so peaked that last-bit differences grow to 1e-2 in the logits),
     * biases around 0, rope factors in [1, 8). */
    const char *arch;
    int head_dim;        /* attention.key_length; 0: n_embd / n_head */
    int n_swa;           /* gemma: attention.sliding_window (0: none) */
    int swa_pattern;     /* gemma: sliding_window_pattern (0: not written) */
    float rope_scale;    /* rope.scaling.type linear, factor (0: none) */
    int rope_freqs;      /* write rope_freqs.weight (Llama 3.1 style) */
    int n_ctx_orig;      /* phi3: rope.scaling.original_context_length */
    float attn_softcap, final_softcap; /* gemma2/3 keys (0: not written) */
} gw_llama_spec;

/* Defaults: a tiny model (n_embd 128, 2 layers, 4/2 heads, ffn 256,
 * vocab 600, ctx 256), F32, seed 1. */
void gw_llama_spec_init(gw_llama_spec *s);

/* Named shapes: "tiny", "smol" (SmolLM-135M), "tinyllama" (TinyLlama-1.1B).
 * Returns 0, or -1 for an unknown name. */
int gw_llama_preset(gw_llama_spec *s, const char *name);

/* The GGUF image (malloc'd, caller frees) or NULL (bad spec, no memory). */
uint8_t *gw_llama_build(const gw_llama_spec *s, size_t *size);

/* Build and write to a file; 0 on success. */
int gw_llama_write(const gw_llama_spec *s, const char *path);

#endif
