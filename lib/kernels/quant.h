/*
 * libfwinfer - tensor element types and ggml block layouts.
 *
 * The enum values are the GGML type ids used in GGUF tensor infos, so a
 * reader can convert with a range check and a table lookup
 * (fwi_type_traits_get() returns NULL for ids we do not support).
 *
 * Block layouts are byte-exact copies of ggml's (little endian, fp16 scales,
 * no padding): they are read straight out of the memory-mapped file.
 * Blocks are only 2-byte aligned inside a row (34 / 18 bytes each), so every
 * kernel uses unaligned loads.
 */
#ifndef FWI_KERNELS_QUANT_H
#define FWI_KERNELS_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "fp16.h"

enum fwi_type {
    FWI_TYPE_F32  = 0,
    FWI_TYPE_F16  = 1,
    FWI_TYPE_Q4_0 = 2,
    FWI_TYPE_Q4_1 = 3,
    FWI_TYPE_Q5_0 = 6,
    FWI_TYPE_Q5_1 = 7,
    FWI_TYPE_Q8_0 = 8,
    FWI_TYPE_Q8_1 = 9,   /* activation format of Q4_1 / Q5_1 */
    FWI_TYPE_Q2_K = 10,
    FWI_TYPE_Q3_K = 11,
    FWI_TYPE_Q4_K = 12,
    FWI_TYPE_Q5_K = 13,
    FWI_TYPE_Q6_K = 14,
    FWI_TYPE_Q8_K = 15,  /* activation format of the K-quants */
    FWI_TYPE_BF16 = 30,
    FWI_TYPE_COUNT = 40 /* size of per-type tables (GGML_TYPE_COUNT) */
};

#define FWI_QK4_0 32
#define FWI_QK4_1 32
#define FWI_QK5_0 32
#define FWI_QK5_1 32
#define FWI_QK8_0 32
#define FWI_QK8_1 32
#define FWI_QK_K 256         /* super-block of the K-quants */
#define FWI_K_SCALE_SIZE 12  /* packed 6-bit scales/mins of Q4_K, Q5_K */

typedef struct fwi_block_q4_0 {
    fwi_f16 d;                   /* scale */
    uint8_t qs[FWI_QK4_0 / 2];   /* element j in low nibble of qs[j],
                                    element j+16 in high nibble; value (q-8)*d */
} fwi_block_q4_0;

typedef struct fwi_block_q8_0 {
    fwi_f16 d;                   /* scale */
    int8_t qs[FWI_QK8_0];        /* value qs[j]*d */
} fwi_block_q8_0;

typedef struct fwi_block_q4_1 {
    fwi_f16 d, m;                /* value q*d + m, q in [0, 15] */
    uint8_t qs[FWI_QK4_1 / 2];   /* nibbles as in Q4_0 */
} fwi_block_q4_1;

typedef struct fwi_block_q5_0 {
    fwi_f16 d;
    uint8_t qh[4];               /* 5th bits: bit j of the little-endian
                                    uint32 is the high bit of element j */
    uint8_t qs[FWI_QK5_0 / 2];   /* low 4 bits as in Q4_0; value (q-16)*d */
} fwi_block_q5_0;

typedef struct fwi_block_q5_1 {
    fwi_f16 d, m;                /* value q*d + m, q in [0, 31] */
    uint8_t qh[4];
    uint8_t qs[FWI_QK5_1 / 2];
} fwi_block_q5_1;

typedef struct fwi_block_q8_1 {
    fwi_f16 d;                   /* scale */
    fwi_f16 s;                   /* d * sum(qs) */
    int8_t qs[FWI_QK8_1];
} fwi_block_q8_1;

/* K-quants: super-blocks of 256 elements (ggml's k-quants layouts) */
typedef struct fwi_block_q2_K {
    uint8_t scales[FWI_QK_K / 16]; /* 4-bit scale (low) and min (high) per 16 */
    uint8_t qs[FWI_QK_K / 4];      /* 2-bit quants */
    fwi_f16 d, dmin;               /* super-block scales of scales and mins */
} fwi_block_q2_K;

typedef struct fwi_block_q3_K {
    uint8_t hmask[FWI_QK_K / 8];   /* high bit of each quant */
    uint8_t qs[FWI_QK_K / 4];      /* low 2 bits */
    uint8_t scales[12];            /* 16 6-bit scales, packed */
    fwi_f16 d;
} fwi_block_q3_K;

typedef struct fwi_block_q4_K {
    fwi_f16 d, dmin;
    uint8_t scales[FWI_K_SCALE_SIZE]; /* 8 6-bit scales and 8 6-bit mins */
    uint8_t qs[FWI_QK_K / 2];
} fwi_block_q4_K;

typedef struct fwi_block_q5_K {
    fwi_f16 d, dmin;
    uint8_t scales[FWI_K_SCALE_SIZE];
    uint8_t qh[FWI_QK_K / 8];
    uint8_t qs[FWI_QK_K / 2];
} fwi_block_q5_K;

typedef struct fwi_block_q6_K {
    uint8_t ql[FWI_QK_K / 2];      /* low 4 bits */
    uint8_t qh[FWI_QK_K / 4];      /* high 2 bits */
    int8_t scales[FWI_QK_K / 16];  /* 8-bit scales per 16 */
    fwi_f16 d;
} fwi_block_q6_K;

typedef struct fwi_block_q8_K {
    float d;                       /* f32 scale (not f16) */
    int8_t qs[FWI_QK_K];
    int16_t bsums[FWI_QK_K / 16];  /* sums of qs per 16 */
} fwi_block_q8_K;

_Static_assert(sizeof(fwi_block_q4_0) == 18, "block_q4_0 must be 18 bytes");
_Static_assert(sizeof(fwi_block_q8_0) == 34, "block_q8_0 must be 34 bytes");
_Static_assert(sizeof(fwi_block_q4_1) == 20, "block_q4_1 must be 20 bytes");
_Static_assert(sizeof(fwi_block_q5_0) == 22, "block_q5_0 must be 22 bytes");
_Static_assert(sizeof(fwi_block_q5_1) == 24, "block_q5_1 must be 24 bytes");
_Static_assert(sizeof(fwi_block_q8_1) == 36, "block_q8_1 must be 36 bytes");
_Static_assert(sizeof(fwi_block_q2_K) == 84, "block_q2_K must be 84 bytes");
_Static_assert(sizeof(fwi_block_q3_K) == 110, "block_q3_K must be 110 bytes");
_Static_assert(sizeof(fwi_block_q4_K) == 144, "block_q4_K must be 144 bytes");
_Static_assert(sizeof(fwi_block_q5_K) == 176, "block_q5_K must be 176 bytes");
_Static_assert(sizeof(fwi_block_q6_K) == 210, "block_q6_K must be 210 bytes");
_Static_assert(sizeof(fwi_block_q8_K) == 292, "block_q8_K must be 292 bytes");

typedef void (*fwi_to_float_fn)(const void *src, float *dst, int n);
typedef void (*fwi_from_float_fn)(const float *src, void *dst, int n);

typedef struct fwi_type_traits {
    const char *name;            /* ggml spelling: "f32", "q4_0", ... */
    int blck_size;               /* elements per block (1 for float types) */
    size_t type_size;            /* bytes per block */
    /* Format of the activation row that matvec/matmul expect for weights of
     * this type (ggml's vec_dot_type): FWI_TYPE_Q8_0 for Q4_0/Q8_0; for the
     * float weight types we use plain f32 activations (see kernels.h). */
    enum fwi_type vec_dot_type;
    fwi_to_float_fn to_float;    /* scalar reference dequantisation */
    fwi_from_float_fn from_float;/* scalar reference quantisation (ggml *_ref) */
} fwi_type_traits;

/* NULL for unsupported / out-of-range ids. */
const fwi_type_traits *fwi_type_traits_get(int type);

/* Bytes of a row of n elements (n must be a multiple of the block size),
 * 0 for an unsupported type or an invalid n. */
size_t fwi_row_size(int type, int64_t n);

/* Scalar references, bit-exact with ggml's *_ref / dequantize_row_* (n must
 * be a multiple of 32 for the block types). */
void fwi_quantize_row_q8_0_ref(const float *x, void *y, int n);
void fwi_quantize_row_q4_0_ref(const float *x, void *y, int n);
void fwi_dequantize_row_q8_0(const void *x, float *y, int n);
void fwi_dequantize_row_q4_0(const void *x, float *y, int n);
void fwi_quantize_row_q4_1_ref(const float *x, void *y, int n);
void fwi_quantize_row_q5_0_ref(const float *x, void *y, int n);
void fwi_quantize_row_q5_1_ref(const float *x, void *y, int n);
void fwi_dequantize_row_q4_1(const void *x, float *y, int n);
void fwi_dequantize_row_q5_0(const void *x, float *y, int n);
void fwi_dequantize_row_q5_1(const void *x, float *y, int n);
void fwi_dequantize_row_q8_1(const void *x, float *y, int n); /* qs * d (s unused) */
void fwi_dequantize_row_q2_K(const void *x, float *y, int n); /* n: multiple of 256 */
void fwi_dequantize_row_q3_K(const void *x, float *y, int n);
/* 6-bit scale j (0..15) of the 12 packed bytes of Q3_K, minus 32 */
int fwi_q3k_scale(int j, const uint8_t *scales);
void fwi_dequantize_row_q4_K(const void *x, float *y, int n); /* n: multiple of 256 */
void fwi_dequantize_row_q5_K(const void *x, float *y, int n);
void fwi_dequantize_row_q6_K(const void *x, float *y, int n);
void fwi_dequantize_row_q8_K(const void *x, float *y, int n);
/* 6-bit scale and min j (0..7) of the 12 packed bytes of Q4_K / Q5_K */
void fwi_kq_scale_min(int j, const uint8_t *scales, int *sc, int *m);
void fwi_convert_row_f16_to_f32(const void *x, float *y, int n);
void fwi_convert_row_f32_to_f16(const float *x, void *y, int n);
void fwi_convert_row_bf16_to_f32(const void *x, float *y, int n);
void fwi_convert_row_f32_to_bf16(const float *x, void *y, int n);

#endif /* FWI_KERNELS_QUANT_H */
