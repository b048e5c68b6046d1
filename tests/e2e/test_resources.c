/*
 * test_resources.c - the file system failing under the library: a model
 * file unlinked or replaced (rename over it) after loading keeps working;
 * a file truncated before loading is FW_E_FORMAT naming the tensor and
 * the offsets; saving state to a full disk (RLIMIT_FSIZE, and /dev/full
 * where it exists) or into a missing directory is FW_E_IO naming the file
 * and the system's reason, with no partial file left behind.
 */
#define _DEFAULT_SOURCE 1
#include "common/testutil.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fwinfer.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fwinfer-res-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(tmpdir);
}

/* Copy the first `n` bytes (all if n is SIZE_MAX) of a data file to dst. */
static void copy_file(const char *rel, const char *dst, size_t n)
{
    size_t size = 0;
    char *data = tu_read_file(tu_data_path(rel), &size);
    assert_non_null(data);
    if (n > size)
        n = size;
    FILE *f = fopen(dst, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(data);
}

/* Greedy continuation of a fixed prompt, as text. */
static void greedy_text(const fw_model *m, char *out, size_t cap)
{
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_ctx = 64;
    cp.n_threads = 1;
    fw_context *c;
    assert_int_equal(fw_context_new(m, &cp, &c), FW_OK);
    fw_result *r;
    static const char body[] = "{\"prompt\":\"Once upon a time\",\"max_tokens\":16,"
                               "\"temperature\":0}";
    if (fw_generate_json(c, body, sizeof body - 1, NULL, 0, NULL, NULL, &r) != FW_OK)
        fail_msg("%s", fw_last_error());
    size_t n;
    assert_int_equal(fw_result_text(r, 0, out, cap, &n), FW_OK);
    assert_true(n > 10);
    fw_result_free(r);
    fw_context_free(c);
}

static void test_model_file_unlinked_or_replaced(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    char want[512], got[512];
    fw_model *ref;
    assert_int_equal(fw_model_load(tu_data_path("models/stories260K.gguf"), NULL, &ref), FW_OK);
    greedy_text(ref, want, sizeof want);
    fw_model_free(ref);

    char path[128], other[128];
    snprintf(path, sizeof path, "%s/model.gguf", tmpdir);
    snprintf(other, sizeof other, "%s/other.gguf", tmpdir);
    for (int use_mmap = 1; use_mmap >= 0; use_mmap--) {
        /* unlinked after loading: the mapping keeps the data */
        copy_file("models/stories260K.gguf", path, SIZE_MAX);
        fw_model_params mp;
        fw_model_params_init(&mp);
        mp.use_mmap = (uint32_t)use_mmap;
        fw_model *m;
        assert_int_equal(fw_model_load(path, &mp, &m), FW_OK);
        assert_int_equal(unlink(path), 0);
        greedy_text(m, got, sizeof got);
        assert_string_equal(got, want);
        fw_model_free(m);

        /* replaced by rename: the old inode stays mapped */
        copy_file("models/stories260K.gguf", path, SIZE_MAX);
        assert_int_equal(fw_model_load(path, &mp, &m), FW_OK);
        copy_file("vocab/ggml-vocab-gpt-2.gguf", other, SIZE_MAX);
        assert_int_equal(rename(other, path), 0);
        greedy_text(m, got, sizeof got);
        assert_string_equal(got, want);
        fw_model_free(m);
        assert_int_equal(unlink(path), 0);
    }
}

static void test_model_file_truncated_before_load(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    char path[128];
    snprintf(path, sizeof path, "%s/cut.gguf", tmpdir);
    size_t size = 0;
    char *data = tu_read_file(tu_data_path("models/stories260K.gguf"), &size);
    assert_non_null(data);
    free(data);
    /* cut inside the tensor data: the last tensor does not fit */
    copy_file("models/stories260K.gguf", path, size - 1000);
    for (int use_mmap = 1; use_mmap >= 0; use_mmap--) {
        fw_model_params mp;
        fw_model_params_init(&mp);
        mp.use_mmap = (uint32_t)use_mmap;
        fw_model *m = (fw_model *)1;
        assert_int_equal(fw_model_load(path, &mp, &m), FW_E_FORMAT);
        assert_null(m);
        const char *e = fw_last_error();
        print_message("  truncated file: %s\n", e);
        assert_non_null(strstr(e, "tensor"));
        assert_non_null(strstr(e, "'"));                   /* the tensor's name */
        char num[32];
        snprintf(num, sizeof num, "%zu", size - 1000);
        assert_non_null(strstr(e, num));                   /* the file size */
    }
    assert_int_equal(unlink(path), 0);
}

static fw_context *state_ctx(fw_model **m)
{
    assert_int_equal(fw_model_load(tu_data_path("models/stories260K.gguf"), NULL, m), FW_OK);
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_ctx = 64;
    cp.n_threads = 1;
    fw_context *c;
    assert_int_equal(fw_context_new(*m, &cp, &c), FW_OK);
    fw_token t[4] = {1, 403, 407, 261};
    assert_int_equal(fw_context_eval(c, 0, 0, t, 4, 0), FW_OK);
    return c;
}

static void test_state_save_disk_full(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_model *m;
    fw_context *c = state_ctx(&m);
    size_t size = 0;
    assert_int_equal(fw_context_state_size(c, &size), FW_OK);

    /* a disk that fills up: the file size limit makes writes fail (EFBIG);
     * the partial file is removed */
    char path[128];
    snprintf(path, sizeof path, "%s/state.bin", tmpdir);
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = old;
    lim.rlim_cur = (rlim_t)(size / 2);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    fw_status st = fw_context_state_save_file(c, path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_sig);
    assert_int_equal(st, FW_E_IO);
    const char *e = fw_context_errmsg(c);
    print_message("  disk full: %s\n", e);
    assert_non_null(strstr(e, path));
    assert_non_null(strstr(e, strerror(EFBIG)));
    assert_int_equal(access(path, F_OK), -1); /* no partial file */

    /* /dev/full, where the system has it: ENOSPC, and the device stays */
    if (access("/dev/full", W_OK) == 0) {
        assert_int_equal(fw_context_state_save_file(c, "/dev/full"), FW_E_IO);
        e = fw_context_errmsg(c);
        print_message("  /dev/full: %s\n", e);
        assert_non_null(strstr(e, "/dev/full"));
        assert_non_null(strstr(e, strerror(ENOSPC)));
        assert_int_equal(access("/dev/full", W_OK), 0);
    } else {
        print_message("  /dev/full does not exist here: only the RLIMIT_FSIZE case ran\n");
    }

    /* a directory that does not exist */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such/dir/state.bin", tmpdir);
    assert_int_equal(fw_context_state_save_file(c, missing), FW_E_IO);
    e = fw_last_error();
    assert_non_null(strstr(e, missing));
    assert_non_null(strstr(e, strerror(ENOENT)));
    assert_string_equal(fw_context_errmsg(c), e);

    /* the context is unharmed: a save that can succeed does */
    assert_int_equal(fw_context_state_save_file(c, path), FW_OK);
    assert_int_equal(fw_context_state_load_file(c, path), FW_OK);
    assert_int_equal(fw_context_seq_len(c, 0), 4);
    assert_int_equal(unlink(path), 0);
    fw_context_free(c);
    fw_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_file_unlinked_or_replaced),
        cmocka_unit_test(test_model_file_truncated_before_load),
        cmocka_unit_test(test_state_save_disk_full),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
