/*
 * test_gguf.c - the GGUF reader through the public API: a valid file built
 * by the project's GGUF writer reads back exactly, and a corpus of malformed
 * variants of it (built here) each fails with a status and a message.
 */
#define _DEFAULT_SOURCE 1
#include "common/testutil.h"

#include <unistd.h>

#include "fwinfer.h"
#include "gguf_writer.h"

/* The base file has tensors that are not a llama model: it is read with
 * metadata_only (the weights are checked by the model tests). */
static fw_model_params meta;

/* ---- the valid base file ---- */

typedef struct base_file {
    uint8_t *data;
    size_t size;
    /* record offsets for targeted corruption */
    size_t kv_u8, kv_str, kv_arr_str, kv_arr_u32, kv_nested, kv_align;
    size_t t_f32, t_q8, t_f16;
} base_file;

static const float f32_data[32] = {1, 2, 3, 4, 5, 6, 7, 8, -1, -2, 0.5f};

static base_file make_base(uint32_t version)
{
    base_file b;
    gw *w = gw_new(version, 64);
    gw_kv_str(w, "general.architecture", "llama");
    b.kv_align = gw_kv_u32(w, "general.alignment", 64);
    b.kv_u8 = gw_kv_u8(w, "t.u8", 200);
    gw_kv_i8(w, "t.i8", -5);
    gw_kv_u16(w, "t.u16", 65535);
    gw_kv_i16(w, "t.i16", -300);
    gw_kv_u32(w, "t.u32", 4000000000u);
    gw_kv_i32(w, "t.i32", -70000);
    gw_kv_u64(w, "t.u64", UINT64_MAX);
    gw_kv_i64(w, "t.i64", INT64_MIN);
    gw_kv_f32(w, "t.f32", 1e-5f);
    gw_kv_f64(w, "t.f64", 0.1);
    gw_kv_bool(w, "t.bool", 1);
    b.kv_str = gw_kv_str(w, "t.str", "h\xc3\xa9llo \"q\"\n");
    const char *strs[] = {"<unk>", "", "\xe2\x96\x81the"};
    b.kv_arr_str = gw_kv_arr_str(w, "t.arr_str", 3, strs);
    const uint32_t u32s[] = {7, 8, 9, 10};
    b.kv_arr_u32 = gw_kv_arr(w, "t.arr_u32", 4, 4, u32s);
    /* [[1, 2], []]: an array of two int8 arrays (raw value bytes) */
    const uint8_t nested[] = {
        9, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,             /* array x 2 */
        1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2,       /* int8 x 2 */
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,             /* int8 x 0 */
    };
    b.kv_nested = gw_kv_raw(w, "t.nested", 9, nested, sizeof nested);
    b.t_f32 = gw_tensor(w, "f32", 0, 2, (int64_t[]){8, 4}, f32_data);
    uint8_t q8[2 * 34] = {0};
    b.t_q8 = gw_tensor(w, "q8", 8, 2, (int64_t[]){32, 2}, q8);
    b.t_f16 = gw_tensor(w, "f16", 1, 1, (int64_t[]){16}, NULL);
    b.data = gw_finish(w, &b.size);
    gw_free(w);
    assert_non_null(b.data);
    return b;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Offset of the u32 type field of a kv record at `rec`. */
static size_t kv_type_at(const uint8_t *d, size_t rec)
{
    return rec + 8 + (size_t)get64(d + rec);
}

/* Offsets inside a tensor info record at `rec`. */
static size_t ti_ndims_at(const uint8_t *d, size_t rec)
{
    return rec + 8 + (size_t)get64(d + rec);
}
static size_t ti_dim_at(const uint8_t *d, size_t rec, int i)
{
    return ti_ndims_at(d, rec) + 4 + 8 * (size_t)i;
}
static size_t ti_type_at(const uint8_t *d, size_t rec, int n_dims)
{
    return ti_dim_at(d, rec, n_dims);
}
static size_t ti_offset_at(const uint8_t *d, size_t rec, int n_dims)
{
    return ti_type_at(d, rec, n_dims) + 4;
}

/* Load an image that must fail: returns the status; checks the message. */
static fw_status load_bad(const uint8_t *d, size_t n, const char *expect_sub)
{
    fw_model *m = (fw_model *)0x1;
    fw_status st = fw_model_load_from_memory(d, n, &meta, &m);
    if (st == FW_OK)
        fail_msg("malformed image (%zu bytes) loaded without error", n);
    assert_null(m);
    assert_true(st < 0);
    const char *msg = fw_last_error();
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    if (expect_sub && !strstr(msg, expect_sub))
        fail_msg("message \"%s\" does not mention \"%s\"", msg, expect_sub);
    return st;
}

/* ---- tests of the valid file ---- */

static void test_valid_reads_back(void **state)
{
    (void)state;
    base_file b = make_base(3);
    fw_model *m;
    assert_int_equal(fw_model_load_from_memory(b.data, b.size, &meta, &m), FW_OK);
    assert_string_equal(fw_model_arch(m), "llama");
    assert_int_equal(fw_model_gguf_version(m), 3);
    assert_int_equal(fw_model_alignment(m), 64);
    assert_int_equal(fw_model_data_offset(m) % 64, 0);
    assert_int_equal(fw_model_meta_count(m), 17);
    assert_string_equal(fw_model_meta_key(m, 0), "general.architecture");
    assert_null(fw_model_meta_key(m, 17));
    assert_int_equal(fw_model_meta_find(m, "t.u16"), 4);
    assert_int_equal(fw_model_meta_find(m, "nope"), -1);

    int64_t i;
    assert_int_equal(fw_model_meta_get_i64(m, "t.u8", &i), FW_OK);
    assert_int_equal(i, 200);
    assert_int_equal(fw_model_meta_get_i64(m, "t.i8", &i), FW_OK);
    assert_int_equal(i, -5);
    assert_int_equal(fw_model_meta_get_i64(m, "t.u16", &i), FW_OK);
    assert_int_equal(i, 65535);
    assert_int_equal(fw_model_meta_get_i64(m, "t.i16", &i), FW_OK);
    assert_int_equal(i, -300);
    assert_int_equal(fw_model_meta_get_i64(m, "t.u32", &i), FW_OK);
    assert_int_equal(i, 4000000000LL);
    assert_int_equal(fw_model_meta_get_i64(m, "t.i32", &i), FW_OK);
    assert_int_equal(i, -70000);
    assert_int_equal(fw_model_meta_get_i64(m, "t.i64", &i), FW_OK);
    assert_true(i == INT64_MIN);
    i = 42;
    assert_int_equal(fw_model_meta_get_i64(m, "t.u64", &i), FW_E_RANGE);
    assert_int_equal(i, 42);
    assert_int_equal(fw_model_meta_get_i64(m, "t.f32", &i), FW_E_TYPE);
    assert_non_null(strstr(fw_model_errmsg(m), "t.f32"));
    assert_int_equal(fw_model_meta_get_i64(m, "absent", &i), FW_E_NOT_FOUND);
    assert_non_null(strstr(fw_last_error(), "absent"));

    double f;
    assert_int_equal(fw_model_meta_get_f64(m, "t.f32", &f), FW_OK);
    assert_true(f == (double)1e-5f);
    assert_int_equal(fw_model_meta_get_f64(m, "t.f64", &f), FW_OK);
    assert_true(f == 0.1);
    assert_int_equal(fw_model_meta_get_f64(m, "t.i32", &f), FW_OK);
    assert_true(f == -70000.0);
    assert_int_equal(fw_model_meta_get_f64(m, "t.str", &f), FW_E_TYPE);

    int32_t bv;
    assert_int_equal(fw_model_meta_get_bool(m, "t.bool", &bv), FW_OK);
    assert_int_equal(bv, 1);
    assert_int_equal(fw_model_meta_get_bool(m, "t.u8", &bv), FW_E_TYPE);

    char buf[64];
    size_t need;
    assert_int_equal(fw_model_meta_get_str(m, "t.str", buf, sizeof buf, &need),
                     FW_OK);
    assert_string_equal(buf, "h\xc3\xa9llo \"q\"\n");
    assert_int_equal(need, 11);
    assert_int_equal(fw_model_meta_get_str(m, "t.str", buf, 5, &need),
                     FW_E_BUFFER_TOO_SMALL);
    assert_int_equal(need, 11);
    assert_string_equal(buf, "h\xc3\xa9l");
    assert_int_equal(fw_model_meta_get_str(m, "t.str", NULL, 0, &need), FW_E_BUFFER_TOO_SMALL);
    assert_int_equal(need, 11);

    int32_t type, et;
    uint64_t n;
    assert_int_equal(fw_model_meta_type(m, "t.arr_str", &type, &et, &n), FW_OK);
    assert_int_equal(type, FW_META_ARRAY);
    assert_int_equal(et, FW_META_STRING);
    assert_int_equal(n, 3);
    assert_int_equal(fw_model_meta_arr_str(m, "t.arr_str", 2, buf, sizeof buf, &need), FW_OK);
    assert_string_equal(buf, "\xe2\x96\x81the");
    assert_int_equal(fw_model_meta_arr_str(m, "t.arr_str", 1, buf, sizeof buf, &need), FW_OK);
    assert_int_equal(need, 0);
    assert_int_equal(fw_model_meta_arr_str(m, "t.arr_str", 3, buf, sizeof buf, &need), FW_E_NOT_FOUND);
    assert_int_equal(fw_model_meta_arr_i64(m, "t.arr_u32", 3, &i), FW_OK);
    assert_int_equal(i, 10);
    assert_int_equal(fw_model_meta_arr_f64(m, "t.arr_u32", 0, &f), FW_OK);
    assert_true(f == 7.0);
    assert_int_equal(fw_model_meta_arr_i64(m, "t.arr_str", 0, &i), FW_E_TYPE);
    assert_int_equal(fw_model_meta_arr_i64(m, "t.u8", 0, &i), FW_E_TYPE);
    assert_int_equal(fw_model_meta_arr_i64(m, "t.nested", 0, &i), FW_E_TYPE);

    char json[256];
    assert_int_equal(fw_model_meta_to_json(m, "t.nested", -1, json, sizeof json, &need), FW_OK);
    assert_string_equal(json, "[[1,2],[]]");
    assert_int_equal(fw_model_meta_to_json(m, "t.str", -1, json, sizeof json, &need), FW_OK);
    assert_string_equal(json, "\"h\xc3\xa9llo \\\"q\\\"\\n\"");
    assert_int_equal(fw_model_meta_to_json(m, "t.f32", -1, json, sizeof json, &need), FW_OK);
    assert_string_equal(json, "1e-05");
    assert_int_equal(fw_model_meta_to_json(m, "t.u64", -1, json, sizeof json, &need), FW_OK);
    assert_string_equal(json, "18446744073709551615");
    assert_int_equal(fw_model_meta_to_json(m, "t.i64", -1, json, sizeof json, &need), FW_OK);
    assert_string_equal(json, "-9223372036854775808");
    assert_int_equal(fw_model_meta_to_json(m, "t.arr_u32", 2, json, sizeof json, &need), FW_OK);
    assert_string_equal(json, "[7,8,\"...(2 more)\"]");
    assert_int_equal(fw_model_meta_to_json(m, "t.bool", -1, json, sizeof json, &need), FW_OK);
    assert_string_equal(json, "true");

    assert_int_equal(fw_model_tensor_count(m), 3);
    assert_int_equal(fw_model_tensor_find(m, "q8"), 1);
    assert_int_equal(fw_model_tensor_find(m, "zz"), -1);
    assert_string_equal(fw_model_tensor_name(m, 2), "f16");
    assert_null(fw_model_tensor_name(m, 3));
    int32_t nd;
    int64_t dims[FW_MAX_DIMS];
    uint64_t off, nb;
    assert_int_equal(fw_model_tensor_info(m, 1, &type, &nd, dims, &off, &nb), FW_OK);
    assert_int_equal(type, FW_TYPE_Q8_0);
    assert_int_equal(nd, 2);
    assert_int_equal(dims[0], 32);
    assert_int_equal(dims[1], 2);
    assert_int_equal(dims[2], 1);
    assert_int_equal(dims[3], 1);
    assert_int_equal(off % 64, 0);
    assert_int_equal(nb, 68);
    assert_int_equal(fw_model_tensor_info(m, 0, &type, &nd, dims, &off, &nb), FW_OK);
    assert_int_equal(off, 0);
    assert_int_equal(nb, 128);
    /* the data really is where the table says */
    float first;
    memcpy(&first, b.data + fw_model_data_offset(m) + off, 4);
    assert_true(first == 1.0f);
    assert_int_equal(fw_model_tensor_info(m, 3, &type, &nd, dims, &off, &nb), FW_E_NOT_FOUND);
    fw_model_free(m);
    free(b.data);
}

static void test_version2_and_unaligned_buffer(void **state)
{
    (void)state;
    base_file b = make_base(2);
    uint8_t *shifted = malloc(b.size + 1);
    memcpy(shifted + 1, b.data, b.size);
    fw_model *m;
    assert_int_equal(fw_model_load_from_memory(shifted + 1, b.size, &meta, &m), FW_OK);
    assert_int_equal(fw_model_gguf_version(m), 2);
    int64_t v;
    assert_int_equal(fw_model_meta_get_i64(m, "t.i16", &v), FW_OK);
    assert_int_equal(v, -300);
    fw_model_free(m);
    free(shifted);
    free(b.data);
}

static int32_t count_progress(float p, void *ud)
{
    float *last = ud;
    assert_true(p >= *last);
    *last = p;
    return 0;
}

static int32_t abort_progress(float p, void *ud)
{
    (void)p;
    (*(int *)ud)++;
    return 1;
}

static void test_file_load_mmap_and_read(void **state)
{
    (void)state;
    base_file b = make_base(3);
    char path[] = "/tmp/fwinfer-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(gw_write_file(path, b.data, b.size), 0);
    for (int use_mmap = 0; use_mmap <= 1; use_mmap++) {
        fw_model_params p = meta;
        p.use_mmap = (uint32_t)use_mmap;
        float last = 0;
        p.progress = count_progress;
        p.progress_user_data = &last;
        fw_model *m;
        assert_int_equal(fw_model_load(path, &p, &m), FW_OK);
        assert_true(last == 1.0f);
        assert_int_equal(fw_model_tensor_count(m), 3);
        fw_model_free(m);
    }
    fw_model_params p;
    fw_model_params_init(&p);
    int calls = 0;
    p.progress = abort_progress;
    p.progress_user_data = &calls;
    fw_model *m;
    assert_int_equal(fw_model_load(path, &p, &m), FW_E_ABORTED);
    assert_null(m);
    assert_int_equal(calls, 1);
    unlink(path);
    assert_int_equal(fw_model_load(path, NULL, &m), FW_E_IO);
    assert_non_null(strstr(fw_last_error(), path));
    assert_int_equal(fw_model_load("/", NULL, &m), FW_E_IO);
    free(b.data);
}

static void test_params_struct_size(void **state)
{
    (void)state;
    /* a file without tensors loads without metadata_only */
    base_file b;
    gw *w = gw_new(3, 32);
    gw_kv_str(w, "general.name", "no tensors");
    b.data = gw_finish(w, &b.size);
    gw_free(w);
    fw_model *m;
    /* an older, shorter struct keeps the defaults of the missing fields */
    fw_model_params p;
    fw_model_params_init(&p);
    assert_int_equal(p.struct_size, sizeof p);
    p.struct_size = 8;
    p.progress = abort_progress; /* beyond struct_size: must be ignored */
    assert_int_equal(fw_model_load_from_memory(b.data, b.size, &p, &m), FW_OK);
    fw_model_free(m);
    p.struct_size = 4;
    assert_int_equal(fw_model_load_from_memory(b.data, b.size, &p, &m), FW_E_INVALID_ARG);
    /* a newer, longer struct: zero tail accepted, non-zero tail refused */
    struct { fw_model_params p; uint64_t extra; } big;
    memset(&big, 0, sizeof big);
    fw_model_params_init(&big.p);
    big.p.struct_size = sizeof big;
    assert_int_equal(fw_model_load_from_memory(b.data, b.size, &big.p, &m), FW_OK);
    fw_model_free(m);
    big.extra = 1;
    assert_int_equal(fw_model_load_from_memory(b.data, b.size, &big.p, &m), FW_E_UNSUPPORTED);
    assert_int_equal(fw_model_load_from_memory(b.data, b.size, NULL, NULL), FW_E_INVALID_ARG);
    assert_int_equal(fw_model_load_from_memory(NULL, 10, NULL, &m), FW_E_INVALID_ARG);
    assert_int_equal(fw_model_load(NULL, NULL, &m), FW_E_INVALID_ARG);
    free(b.data);
}

static void test_handles_null_safe(void **state)
{
    (void)state;
    fw_model_free(NULL);
    assert_int_equal(fw_model_tensor_count(NULL), 0);
    assert_int_equal(fw_model_meta_count(NULL), 0);
    assert_string_equal(fw_model_arch(NULL), "");
    assert_null(fw_model_meta_key(NULL, 0));
    int64_t v;
    assert_int_equal(fw_model_meta_get_i64(NULL, "x", &v), FW_E_INVALID_ARG);
    assert_string_equal(fw_model_errmsg(NULL), "");
}

/* ---- the malformed corpus ---- */

static void test_truncation_everywhere(void **state)
{
    (void)state;
    base_file b = make_base(3);
    for (size_t n = 0; n < b.size; n++) {
        /* copy so ASan sees reads past the truncated end */
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, b.data, n);
        load_bad(cut, n, NULL);
        free(cut);
    }
    free(b.data);
}

typedef void (*corrupt_fn)(uint8_t *d, base_file *b);

static void check_corrupt(corrupt_fn fn, fw_status want, const char *sub)
{
    base_file b = make_base(3);
    fn(b.data, &b);
    fw_status st = load_bad(b.data, b.size, sub);
    print_message("  refused: %s\n", fw_last_error());
    if (want)
        assert_int_equal(st, want);
    free(b.data);
}

static void c_magic(uint8_t *d, base_file *b) { (void)b; d[1] = 'X'; }
static void c_big_endian(uint8_t *d, base_file *b) { (void)b; put32(d + 4, 0x03000000u); }
static void c_version1(uint8_t *d, base_file *b) { (void)b; put32(d + 4, 1); }
static void c_version9(uint8_t *d, base_file *b) { (void)b; put32(d + 4, 9); }
static void c_huge_kv(uint8_t *d, base_file *b) { (void)b; put64(d + 16, UINT64_MAX / 2); }
static void c_huge_tensors(uint8_t *d, base_file *b) { (void)b; put64(d + 8, 1ull << 40); }
static void c_key_len(uint8_t *d, base_file *b) { put64(d + b->kv_u8, 1ull << 50); }
static void c_str_len(uint8_t *d, base_file *b)
{
    put64(d + kv_type_at(d, b->kv_str) + 4, 1ull << 33);
}
static void c_arr_count(uint8_t *d, base_file *b)
{
    put64(d + kv_type_at(d, b->kv_arr_u32) + 8, 1ull << 61);
}
static void c_arr_str_elem(uint8_t *d, base_file *b)
{
    /* first element's length */
    put64(d + kv_type_at(d, b->kv_arr_str) + 16, 1ull << 40);
}
static void c_kv_type(uint8_t *d, base_file *b) { put32(d + kv_type_at(d, b->kv_u8), 13); }
static void c_arr_elem_type(uint8_t *d, base_file *b)
{
    put32(d + kv_type_at(d, b->kv_arr_u32) + 4, 77);
}
static void c_bool_value(uint8_t *d, base_file *b)
{
    /* turn t.u8 (value 200) into a bool */
    put32(d + kv_type_at(d, b->kv_u8), FW_META_BOOL);
}
static void c_dup_key(uint8_t *d, base_file *b)
{
    /* rename t.u8 -> t.i8 (same length) */
    memcpy(d + b->kv_u8 + 8, "t.i8", 4);
}
static void c_dup_tensor(uint8_t *d, base_file *b)
{
    /* rename "f16" -> "f32" */
    memcpy(d + b->t_f16 + 8, "f32", 3);
}
static void c_key_nul(uint8_t *d, base_file *b) { d[b->kv_u8 + 9] = 0; }
static void c_ndims0(uint8_t *d, base_file *b) { put32(d + ti_ndims_at(d, b->t_f16), 0); }
static void c_ndims5(uint8_t *d, base_file *b) { put32(d + ti_ndims_at(d, b->t_f16), 5); }
static void c_dim_overflow(uint8_t *d, base_file *b)
{
    put64(d + ti_dim_at(d, b->t_q8, 0), 1ull << 40);
    put64(d + ti_dim_at(d, b->t_q8, 1), 1ull << 40);
}
static void c_dim_negative(uint8_t *d, base_file *b)
{
    put64(d + ti_dim_at(d, b->t_f32, 1), UINT64_MAX);
}
static void c_dim_huge_size(uint8_t *d, base_file *b)
{
    put64(d + ti_dim_at(d, b->t_f32, 1), 1ull << 40);
}
static void c_unknown_ttype(uint8_t *d, base_file *b) { put32(d + ti_type_at(d, b->t_f16, 1), 99); }
static void c_removed_ttype(uint8_t *d, base_file *b) { put32(d + ti_type_at(d, b->t_f16, 1), 4); }
static void c_row_block(uint8_t *d, base_file *b)
{
    put64(d + ti_dim_at(d, b->t_q8, 0), 31);
}
static void c_misaligned(uint8_t *d, base_file *b)
{
    put64(d + ti_offset_at(d, b->t_q8, 2), get64(d + ti_offset_at(d, b->t_q8, 2)) + 4);
}
static void c_out_of_range(uint8_t *d, base_file *b)
{
    put64(d + ti_offset_at(d, b->t_f16, 1), 1ull << 20);
}
static void c_offset_wrap(uint8_t *d, base_file *b)
{
    put64(d + ti_offset_at(d, b->t_f16, 1), UINT64_MAX - 63);
}
static void c_overlap(uint8_t *d, base_file *b)
{
    /* q8 (68 bytes) moved onto f32 (128 bytes at 0) */
    put64(d + ti_offset_at(d, b->t_q8, 2), 64);
}
static void c_align_zero(uint8_t *d, base_file *b) { put32(d + kv_type_at(d, b->kv_align) + 4, 48); }
static void c_align_type(uint8_t *d, base_file *b) { put32(d + kv_type_at(d, b->kv_align), FW_META_INT32); }
static void c_nested_depth(uint8_t *d, base_file *b)
{
    /* inner element type of t.nested: array instead of int8 -> the int8
     * bytes are read as nested headers and the structure breaks */
    put32(d + kv_type_at(d, b->kv_nested) + 4 + 12, FW_META_ARRAY);
}

static void test_corruptions(void **state)
{
    (void)state;
    check_corrupt(c_magic, FW_E_FORMAT, "GGUF");
    check_corrupt(c_big_endian, FW_E_UNSUPPORTED, "big-endian");
    check_corrupt(c_version1, FW_E_UNSUPPORTED, "version 1");
    check_corrupt(c_version9, FW_E_FORMAT, "version 9");
    check_corrupt(c_huge_kv, FW_E_FORMAT, "metadata key count");
    check_corrupt(c_huge_tensors, FW_E_FORMAT, "tensor count");
    check_corrupt(c_key_len, FW_E_FORMAT, "key #2");
    check_corrupt(c_str_len, FW_E_FORMAT, "t.str");
    check_corrupt(c_arr_count, FW_E_FORMAT, "t.arr_u32");
    check_corrupt(c_arr_str_elem, FW_E_FORMAT, "t.arr_str");
    check_corrupt(c_kv_type, FW_E_FORMAT, "t.u8");
    check_corrupt(c_arr_elem_type, FW_E_FORMAT, "t.arr_u32");
    check_corrupt(c_bool_value, FW_E_FORMAT, "bool");
    check_corrupt(c_dup_key, FW_E_FORMAT, "duplicate metadata key 't.i8'");
    check_corrupt(c_dup_tensor, FW_E_FORMAT, "duplicate tensor name 'f32'");
    check_corrupt(c_key_nul, FW_E_FORMAT, "NUL");
    check_corrupt(c_ndims0, FW_E_FORMAT, "'f16': 0 dimensions");
    check_corrupt(c_ndims5, 0, "f16");
    check_corrupt(c_dim_overflow, FW_E_FORMAT, "'q8'");
    check_corrupt(c_dim_negative, FW_E_FORMAT, "'f32'");
    check_corrupt(c_dim_huge_size, FW_E_FORMAT, "'f32'");
    check_corrupt(c_unknown_ttype, FW_E_UNSUPPORTED, "unknown tensor type id 99");
    check_corrupt(c_removed_ttype, FW_E_UNSUPPORTED, "Q4_2");
    check_corrupt(c_row_block, FW_E_FORMAT, "block size 32");
    check_corrupt(c_misaligned, FW_E_FORMAT, "alignment 64");
    check_corrupt(c_out_of_range, FW_E_FORMAT, "'f16'");
    check_corrupt(c_offset_wrap, FW_E_FORMAT, "'f16'");
    check_corrupt(c_overlap, FW_E_FORMAT, "overlap");
    check_corrupt(c_align_zero, FW_E_FORMAT, "power of two");
    check_corrupt(c_align_type, FW_E_FORMAT, "general.alignment");
    check_corrupt(c_nested_depth, FW_E_FORMAT, "t.nested");
}

static void test_deep_nesting(void **state)
{
    (void)state;
    /* 100 levels of [[[...]]]: refused, not a stack overflow */
    gw *w = gw_new(3, 32);
    uint8_t v[100 * 12 + 12];
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        put32(v + n, FW_META_ARRAY);
        put64(v + n + 4, 1);
        n += 12;
    }
    put32(v + n, FW_META_UINT8);
    put64(v + n + 4, 0);
    n += 12;
    gw_kv_raw(w, "deep", 9, v, n);
    size_t size;
    uint8_t *d = gw_finish(w, &size);
    gw_free(w);
    load_bad(d, size, "nested deeper");
    free(d);
}

static void test_random_corruption(void **state)
{
    (void)state;
    /* Flip random bytes of the header area: any status is fine, a crash or
     * a leak is not (ASan/valgrind watch this). */
    base_file b = make_base(3);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int ok = 0, bad = 0;
    for (int it = 0; it < 3000; it++) {
        uint8_t *d = malloc(b.size);
        memcpy(d, b.data, b.size);
        int flips = 1 + it % 4;
        for (int k = 0; k < flips; k++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t at = (size_t)(rng % 700); /* header, kvs, tensor infos */
            d[at] = (uint8_t)(rng >> 32);
        }
        fw_model *m;
        fw_status st = fw_model_load_from_memory(d, b.size, &meta, &m);
        if (st == FW_OK) {
            ok++;
            fw_model_free(m);
        } else {
            bad++;
            assert_true(strlen(fw_last_error()) > 0);
        }
        free(d);
    }
    assert_true(bad > 0);
    print_message("random corruption: %d loaded, %d refused\n", ok, bad);
    free(b.data);
}

static void test_type_table(void **state)
{
    (void)state;
    int64_t be, bb;
    assert_string_equal(fw_type_name(FW_TYPE_Q4_K), "Q4_K");
    assert_string_equal(fw_type_name(4), "Q4_2");
    assert_null(fw_type_name(40));
    assert_null(fw_type_name(-1));
    assert_int_equal(fw_type_block_info(FW_TYPE_Q6_K, &be, &bb), FW_OK);
    assert_int_equal(be, 256);
    assert_int_equal(bb, 210);
    assert_int_equal(fw_type_block_info(FW_TYPE_BF16, &be, &bb), FW_OK);
    assert_int_equal(bb, 2);
    assert_int_equal(fw_type_block_info(4, &be, &bb), FW_E_UNSUPPORTED);
    assert_int_equal(fw_type_block_info(1000, &be, &bb), FW_E_NOT_FOUND);
    assert_string_equal(fw_meta_type_name(FW_META_FLOAT64), "float64");
    assert_null(fw_meta_type_name(13));
}

static void test_version_and_status(void **state)
{
    (void)state;
    assert_int_equal(fw_version_number(), FW_VERSION_NUMBER);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", FW_VERSION_MAJOR, FW_VERSION_MINOR,
             FW_VERSION_PATCH);
    assert_string_equal(fw_version_string(), v);
    for (fw_status s = FW_E_INTERNAL; s <= FW_OK; s++)
        assert_string_not_equal(fw_status_str(s), "unknown status");
    assert_string_equal(fw_status_str(-999), "unknown status");
    assert_string_equal(fw_status_str(1), "unknown status");
}

static void test_weights_checked(void **state)
{
    (void)state;
    /* with tensors and without metadata_only, the architecture must be known */
    base_file b = make_base(3);
    fw_model *m;
    assert_int_equal(fw_model_load_from_memory(b.data, b.size, NULL, &m), FW_E_FORMAT);
    assert_non_null(strstr(fw_last_error(), "llama.embedding_length"));
    memcpy(b.data + 24 + 8 + strlen("general.architecture") + 4 + 8, "llamb", 5);
    assert_int_equal(fw_model_load_from_memory(b.data, b.size, NULL, &m), FW_E_UNSUPPORTED);
    assert_non_null(strstr(fw_last_error(), "architecture 'llamb'"));
    assert_int_equal(fw_model_load_from_memory(b.data, b.size, &meta, &m), FW_OK);
    fw_model_free(m);
    free(b.data);
}

int main(void)
{
    fw_model_params_init(&meta);
    meta.metadata_only = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_reads_back),
        cmocka_unit_test(test_version2_and_unaligned_buffer),
        cmocka_unit_test(test_file_load_mmap_and_read),
        cmocka_unit_test(test_params_struct_size),
        cmocka_unit_test(test_handles_null_safe),
        cmocka_unit_test(test_weights_checked),
        cmocka_unit_test(test_truncation_everywhere),
        cmocka_unit_test(test_corruptions),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_random_corruption),
        cmocka_unit_test(test_type_table),
        cmocka_unit_test(test_version_and_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
