/*
 * test_chat_generate.c - chat requests through generation on stories260K
 * (a model without a chat template): the ChatML fallback, template
 * overrides (the shared Gemma, Qwen2.5 and Qwen3 templates), BOS handling,
 * chat_template_kwargs, the chat-completions JSON (checked with the
 * library's JSON parser), echo, chat logprobs, streaming, the dry run
 * fw_request_prompt_json, and the errors.  Generation goes through the
 * public API only.
 */
#include "common/testutil.h"

#include "core/json.h"
#include "fwinfer.h"

static fw_model *model;
static fw_context *ctx;

static int setup(void **state)
{
    (void)state;
    if (!tu_data_dir())
        return 0;
    if (fw_model_load(tu_data_path("models/stories260K.gguf"), NULL, &model) != FW_OK)
        return -1;
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_threads = 1;
    cp.n_ctx = 512;
    cp.n_seq_max = 2;
    return fw_context_new(model, &cp, &ctx) == FW_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fw_context_free(ctx);
    fw_model_free(model);
    return 0;
}

static char *read_template(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "chat_templates/%s", name);
    char *t = tu_read_file(tu_data_path(rel), NULL);
    if (!t)
        fail_msg("cannot read %s", rel);
    return t;
}

/* A JSON string literal for `s` (malloc'd). */
static char *json_quote(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(6 * n + 3), *p = o;
    *p++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            *p++ = '\\', *p++ = (char)c;
        else if (c < 0x20)
            p += sprintf(p, "\\u%04x", c);
        else
            *p++ = (char)c;
    }
    *p++ = '"';
    *p = 0;
    return o;
}

static fw_result *gen_json(const char *body)
{
    fw_result *r = NULL;
    fw_status st = fw_generate_json(ctx, body, strlen(body), NULL, 0, NULL, NULL, &r);
    if (st != FW_OK)
        fail_msg("%.200s: %s", body, fw_last_error());
    return r;
}

static char *result_text(const fw_result *r, int i)
{
    size_t n;
    fw_result_text(r, i, NULL, 0, &n);
    char *t = malloc(n + 1);
    assert_int_equal(fw_result_text(r, i, t, n + 1, &n), FW_OK);
    return t;
}

static char *prompt_text(const fw_result *r)
{
    size_t n;
    assert_int_equal(fw_result_prompt_text(r, NULL, 0, &n), FW_E_BUFFER_TOO_SMALL);
    char *t = malloc(n + 1);
    assert_int_equal(fw_result_prompt_text(r, t, n + 1, &n), FW_OK);
    assert_int_equal(strlen(t), n);
    return t;
}

/* The result's JSON, parsed. */
static fwi_json *result_json(const fw_result *r)
{
    size_t n;
    fw_result_to_json(r, "stories", NULL, 0, &n);
    char *j = malloc(n + 1);
    assert_int_equal(fw_result_to_json(r, "stories", j, n + 1, &n), FW_OK);
    fwi_json *root = NULL;
    if (fwi_json_parse(j, n, NULL, &root) != FW_OK)
        fail_msg("result JSON does not parse: %s\n%.300s", fw_last_error(), j);
    free(j);
    return root;
}

static const char *jstr(const fwi_json *v)
{
    const char *s = fwi_json_str(v, NULL);
    if (!s)
        fail_msg("expected a JSON string");
    return s;
}

/* Tokenize with the given flags (malloc'd ids). */
static fw_token *tokenize(const char *text, uint32_t flags, size_t *n)
{
    fw_tokenize(model, text, strlen(text), flags, NULL, 0, n);
    fw_token *t = malloc((*n + 1) * sizeof *t);
    assert_int_equal(fw_tokenize(model, text, strlen(text), flags, t, *n, n), FW_OK);
    return t;
}

static void assert_ids(const fwi_json *arr, const fw_token *want, size_t n)
{
    assert_int_equal(fwi_json_type_of(arr), FWI_JSON_ARRAY);
    assert_int_equal(fwi_json_len(arr), n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal((int)fwi_json_num(fwi_json_at(arr, i)), want[i]);
}

/* Concatenate the prompt fragments (ids as their vocabulary text). */
static char *join_fragments(const fwi_json *frags, int skip_first_id)
{
    size_t cap = 1;
    for (size_t i = 0; i < fwi_json_len(frags); i++)
        cap += fwi_json_type_of(fwi_json_at(frags, i)) == FWI_JSON_STRING
                   ? fwi_json_len(fwi_json_at(frags, i))
                   : 64;
    char *o = calloc(1, cap);
    for (size_t i = 0; i < fwi_json_len(frags); i++) {
        const fwi_json *f = fwi_json_at(frags, i);
        if (fwi_json_type_of(f) == FWI_JSON_STRING) {
            strcat(o, jstr(f));
        } else if (!(skip_first_id && i == 0)) {
            size_t n;
            char piece[64];
            assert_int_equal(fw_vocab_token_text(model, (fw_token)fwi_json_num(f), piece,
                                                 sizeof piece, &n), FW_OK);
            strcat(o, piece);
        }
    }
    return o;
}

#define CHATML_PROMPT                                                                   \
    "<|im_start|>system\nYou tell stories.<|im_end|>\n<|im_start|>user\nTell me a "     \
    "story<|im_end|>\n<|im_start|>assistant\n"

static void test_chatml_fallback(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    const fw_chat_message msgs[] = {{"system", "You tell stories."},
                                    {"user", "Tell me a story"}};
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    sp.temperature = 0;
    fw_request rq;
    fw_request_init(&rq);
    rq.max_tokens = 6;
    rq.raw_output = 1;
    fw_result *r = NULL;
    assert_int_equal(fw_generate_chat(ctx, msgs, 2, NULL, &sp, &rq, NULL, NULL, &r), FW_OK);
    assert_string_equal(fw_result_chat_template(r), "chatml");
    char *pt = prompt_text(r);
    assert_string_equal(pt, CHATML_PROMPT);
    /* the prompt = the ChatML text tokenized with BOS and special parsing */
    size_t n_want;
    fw_token *want = tokenize(CHATML_PROMPT, FW_TOKENIZE_ADD_SPECIAL | FW_TOKENIZE_PARSE_SPECIAL,
                              &n_want);
    int32_t prompt, completion;
    assert_int_equal(fw_result_usage(r, &prompt, &completion, NULL), FW_OK);
    assert_int_equal(prompt, (int32_t)n_want);
    assert_int_equal(completion, 6);

    fwi_json *j = result_json(r);
    assert_string_equal(jstr(fwi_json_get(j, "object")), "chat.completion");
    assert_memory_equal(jstr(fwi_json_get(j, "id")), "chatcmpl-", 9);
    const fwi_json *c0 = fwi_json_at(fwi_json_get(j, "choices"), 0);
    const fwi_json *msg = fwi_json_get(c0, "message");
    assert_string_equal(jstr(fwi_json_get(msg, "role")), "assistant");
    char *text = result_text(r, 0);
    assert_string_equal(jstr(fwi_json_get(msg, "content")), text);
    assert_null(fwi_json_get(c0, "text"));
    assert_string_equal(jstr(fwi_json_get(c0, "finish_reason")), "length");
    assert_int_equal(fwi_json_type_of(fwi_json_get(c0, "logprobs")), FWI_JSON_NULL);
    const fwi_json *raw = fwi_json_get(c0, "raw_output");
    assert_ids(fwi_json_get(raw, "prompt_token_ids"), want, n_want);
    assert_string_equal(jstr(fwi_json_get(raw, "chat_template")), "chatml");
    /* fragments: the BOS the tokenizer added, then the text (stories260K
     * has no <|im_start|> token) */
    const fwi_json *frags = fwi_json_get(raw, "prompt_fragments");
    assert_int_equal(fwi_json_len(frags), 2);
    assert_int_equal((int)fwi_json_num(fwi_json_at(frags, 0)), 1);
    assert_string_equal(jstr(fwi_json_at(frags, 1)), CHATML_PROMPT);
    assert_int_equal(fwi_json_num(fwi_json_get(fwi_json_get(j, "usage"), "prompt_tokens")),
                     (double)n_want);
    assert_non_null(fwi_json_get(j, "sampling"));
    fwi_json_free(j);

    /* the same request as JSON: same prompt, same greedy text */
    fw_result *r2 = gen_json("{\"messages\":[{\"role\":\"system\",\"content\":\"You tell "
                             "stories.\"},{\"role\":\"user\",\"content\":\"Tell me a story\"}],"
                             "\"max_tokens\":6,\"temperature\":0}");
    char *text2 = result_text(r2, 0), *pt2 = prompt_text(r2);
    assert_string_equal(text2, text);
    assert_string_equal(pt2, pt);
    assert_string_equal(fw_result_chat_template(r2), "chatml");
    free(text2);
    free(pt2);
    fw_result_free(r2);

    /* the dry run reports the same prompt */
    const char *body = "{\"messages\":[{\"role\":\"system\",\"content\":\"You tell "
                       "stories.\"},{\"role\":\"user\",\"content\":\"Tell me a story\"}]}";
    size_t n;
    assert_int_equal(fw_request_prompt_json(model, body, strlen(body), NULL, 0, NULL, 0, &n),
                     FW_E_BUFFER_TOO_SMALL);
    char *dry = malloc(n + 1);
    assert_int_equal(fw_request_prompt_json(model, body, strlen(body), NULL, 0, dry, n + 1, &n),
                     FW_OK);
    fwi_json *d = NULL;
    assert_int_equal(fwi_json_parse(dry, n, NULL, &d), FW_OK);
    assert_string_equal(jstr(fwi_json_get(d, "prompt")), CHATML_PROMPT);
    assert_string_equal(jstr(fwi_json_get(d, "chat_template")), "chatml");
    assert_ids(fwi_json_get(d, "prompt_token_ids"), want, n_want);
    fwi_json_free(d);
    free(dry);

    free(text);
    free(pt);
    free(want);
    fw_result_free(r);
}

static void test_generation_prompt_and_content(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    /* add_generation_prompt false; null content; content parts */
    fw_result *r = gen_json("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                            "\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]},"
                            "{\"role\":\"assistant\",\"content\":null}],"
                            "\"add_generation_prompt\":false,\"max_tokens\":1}");
    char *pt = prompt_text(r);
    assert_string_equal(pt, "<|im_start|>user\na\nb<|im_end|>\n<|im_start|>assistant\n"
                            "<|im_end|>\n");
    free(pt);
    fw_result_free(r);
    /* the C API: NULL content is none; add_generation_prompt 0 */
    const fw_chat_message msgs[] = {{"user", NULL}};
    fw_chat_params cp;
    fw_chat_params_init(&cp);
    assert_int_equal(cp.add_generation_prompt, 1);
    assert_null(cp.chat_template);
    cp.add_generation_prompt = 0;
    fw_request rq;
    fw_request_init(&rq);
    rq.max_tokens = 1;
    assert_int_equal(fw_generate_chat(ctx, msgs, 1, &cp, NULL, &rq, NULL, NULL, &r), FW_OK);
    pt = prompt_text(r);
    assert_string_equal(pt, "<|im_start|>user\n<|im_end|>\n");
    free(pt);
    fw_result_free(r);
}

static void test_override_bos_not_doubled(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    /* Gemma's template writes {{ bos_token }} ("<s>" for this model) */
    char *tmpl = read_template("google-gemma-2-2b-it.jinja");
    char *q = json_quote(tmpl);
    char body[16384];
    snprintf(body, sizeof body,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"chat_template\":%s,"
             "\"max_tokens\":2,\"temperature\":0,\"raw_output\":true}", q);
    fw_result *r = gen_json(body);
    assert_string_equal(fw_result_chat_template(r), "override");
    char *pt = prompt_text(r);
    /* the rendered prompt is what fw_chat_apply_template gives */
    const fw_chat_message msgs[] = {{"user", "Hello"}};
    size_t n;
    char want[1024];
    assert_int_equal(fw_chat_apply_template(model, tmpl, msgs, 1, 1, want, sizeof want, &n),
                     FW_OK);
    assert_string_equal(pt, want);
    assert_memory_equal(pt, "<s><start_of_turn>user\n", 23);
    /* one BOS: the template's, parsed as the special token */
    size_t n_ids;
    fw_token *ids = tokenize(pt, FW_TOKENIZE_PARSE_SPECIAL, &n_ids);
    assert_int_equal(ids[0], 1);
    assert_int_not_equal(ids[1], 1);
    fwi_json *j = result_json(r);
    const fwi_json *raw = fwi_json_get(fwi_json_at(fwi_json_get(j, "choices"), 0), "raw_output");
    assert_ids(fwi_json_get(raw, "prompt_token_ids"), ids, n_ids);
    assert_string_equal(jstr(fwi_json_get(raw, "chat_template")), "override");
    /* fragments: the template's <s> as id 1, then the text */
    const fwi_json *frags = fwi_json_get(raw, "prompt_fragments");
    assert_int_equal((int)fwi_json_num(fwi_json_at(frags, 0)), 1);
    assert_int_equal(fwi_json_type_of(fwi_json_at(frags, 1)), FWI_JSON_STRING);
    char *joined = join_fragments(frags, 0);
    assert_string_equal(joined, pt);
    free(joined);
    fwi_json_free(j);

    /* the C API with the same override: same tokens */
    fw_chat_params cp;
    fw_chat_params_init(&cp);
    cp.chat_template = tmpl;
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    sp.temperature = 0;
    fw_request rq;
    fw_request_init(&rq);
    rq.max_tokens = 2;
    fw_result *r2 = NULL;
    assert_int_equal(fw_generate_chat(ctx, msgs, 1, &cp, &sp, &rq, NULL, NULL, &r2), FW_OK);
    assert_string_equal(fw_result_chat_template(r2), "override");
    char *t1 = result_text(r, 0), *t2 = result_text(r2, 0);
    assert_string_equal(t1, t2);
    int32_t p1, p2;
    fw_result_usage(r, &p1, NULL, NULL);
    fw_result_usage(r2, &p2, NULL, NULL);
    assert_int_equal(p1, (int32_t)n_ids);
    assert_int_equal(p2, (int32_t)n_ids);
    free(t1);
    free(t2);
    fw_result_free(r2);
    free(ids);
    free(pt);
    fw_result_free(r);
    free(q);
    free(tmpl);

    /* Qwen2.5's template writes no BOS: the model's BOS is added first */
    tmpl = read_template("Qwen-Qwen2.5-7B-Instruct.jinja");
    cp.chat_template = tmpl;
    rq.raw_output = 1;
    assert_int_equal(fw_generate_chat(ctx, msgs, 1, &cp, &sp, &rq, NULL, NULL, &r), FW_OK);
    pt = prompt_text(r);
    assert_memory_equal(pt, "<|im_start|>system\nYou are Qwen", 30);
    ids = tokenize(pt, FW_TOKENIZE_ADD_SPECIAL | FW_TOKENIZE_PARSE_SPECIAL, &n_ids);
    assert_int_equal(ids[0], 1);
    j = result_json(r);
    raw = fwi_json_get(fwi_json_at(fwi_json_get(j, "choices"), 0), "raw_output");
    assert_ids(fwi_json_get(raw, "prompt_token_ids"), ids, n_ids);
    frags = fwi_json_get(raw, "prompt_fragments");
    assert_int_equal((int)fwi_json_num(fwi_json_at(frags, 0)), 1);
    joined = join_fragments(frags, 1);
    assert_string_equal(joined, pt);
    free(joined);
    fwi_json_free(j);
    free(ids);
    free(pt);
    fw_result_free(r);
    free(tmpl);
}

static void test_template_kwargs(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    char *tmpl = read_template("Qwen-Qwen3-0.6B.jinja");
    char *q = json_quote(tmpl);
    size_t len = strlen(q) + 256;
    char *body = malloc(len);
    snprintf(body, len, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                        "\"chat_template\":%s,\"max_tokens\":0,"
                        "\"chat_template_kwargs\":{\"enable_thinking\":false}}", q);
    fw_result *r = gen_json(body);
    char *pt = prompt_text(r);
    assert_non_null(strstr(pt, "<|im_start|>assistant\n<think>\n\n</think>\n\n"));
    free(pt);
    fw_result_free(r);
    /* the same through the C API's template_vars_json; without it, no
     * empty think block */
    const fw_chat_message msgs[] = {{"user", "Hi"}};
    fw_chat_params cp;
    fw_chat_params_init(&cp);
    cp.chat_template = tmpl;
    cp.template_vars_json = "{\"enable_thinking\":false}";
    fw_request rq;
    fw_request_init(&rq);
    rq.max_tokens = 0;
    assert_int_equal(fw_generate_chat(ctx, msgs, 1, &cp, NULL, &rq, NULL, NULL, &r), FW_OK);
    pt = prompt_text(r);
    assert_non_null(strstr(pt, "<think>\n\n</think>"));
    free(pt);
    fw_result_free(r);
    cp.template_vars_json = NULL;
    assert_int_equal(fw_generate_chat(ctx, msgs, 1, &cp, NULL, &rq, NULL, NULL, &r), FW_OK);
    pt = prompt_text(r);
    assert_null(strstr(pt, "<think>"));
    free(pt);
    fw_result_free(r);
    free(body);
    free(q);
    free(tmpl);
}

static void test_echo_and_logprobs(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    /* echo with max_tokens 0: the content is the rendered prompt, exactly
     * (not the prompt tokens detokenized) */
    fw_result *r = gen_json("{\"messages\":[{\"role\":\"user\",\"content\":\"Once upon  a "
                            "time\"}],\"echo\":true,\"max_tokens\":0,\"logprobs\":true,"
                            "\"top_logprobs\":2}");
    char *pt = prompt_text(r);
    char *text = result_text(r, 0);
    assert_string_equal(text, pt);
    assert_string_equal(text, "<|im_start|>user\nOnce upon  a time<|im_end|>\n"
                              "<|im_start|>assistant\n");
    int32_t prompt;
    fw_result_usage(r, &prompt, NULL, NULL);
    fwi_json *j = result_json(r);
    const fwi_json *c0 = fwi_json_at(fwi_json_get(j, "choices"), 0);
    assert_string_equal(jstr(fwi_json_get(fwi_json_get(c0, "message"), "content")), pt);
    /* chat logprobs: one entry per echoed prompt token, the first null */
    const fwi_json *content = fwi_json_get(fwi_json_get(c0, "logprobs"), "content");
    assert_int_equal(fwi_json_len(content), (size_t)prompt);
    assert_int_equal(fwi_json_type_of(fwi_json_get(fwi_json_at(content, 0), "logprob")),
                     FWI_JSON_NULL);
    assert_int_equal(fwi_json_len(fwi_json_get(fwi_json_at(content, 0), "top_logprobs")), 0);
    fwi_json_free(j);
    free(text);
    free(pt);
    fw_result_free(r);

    /* generated tokens: token, logprob, bytes, top_logprobs */
    r = gen_json("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4,"
                 "\"temperature\":0,\"ignore_eos\":true,\"logprobs\":true,\"top_logprobs\":2}");
    j = result_json(r);
    c0 = fwi_json_at(fwi_json_get(j, "choices"), 0);
    content = fwi_json_get(fwi_json_get(c0, "logprobs"), "content");
    assert_int_equal(fwi_json_len(content), 4);
    size_t n_ids;
    const fw_token *ids = fw_result_tokens(r, 0, &n_ids);
    assert_int_equal(n_ids, 4);
    for (size_t i = 0; i < 4; i++) {
        const fwi_json *e = fwi_json_at(content, i);
        const fwi_json *top = fwi_json_get(e, "top_logprobs");
        char piece[64];
        size_t pn;
        assert_int_equal(fw_token_to_piece(model, ids[i], FW_DETOK_UNPARSE_SPECIAL, piece,
                                           sizeof piece, &pn), FW_OK);
        assert_string_equal(jstr(fwi_json_get(e, "token")), piece);
        const fwi_json *bytes = fwi_json_get(e, "bytes");
        assert_int_equal(fwi_json_len(bytes), pn);
        for (size_t k = 0; k < pn; k++)
            assert_int_equal((int)fwi_json_num(fwi_json_at(bytes, k)), (unsigned char)piece[k]);
        assert_int_equal(fwi_json_type_of(fwi_json_get(e, "logprob")), FWI_JSON_NUMBER);
        assert_true(fwi_json_num(fwi_json_get(e, "logprob")) <= 0);
        assert_int_equal((int)fwi_json_num(fwi_json_get(e, "token_id")), ids[i]);
        assert_int_equal(fwi_json_len(top), 2);
        /* greedy: the chosen token is the top alternative */
        assert_string_equal(jstr(fwi_json_get(fwi_json_at(top, 0), "token")), piece);
        assert_non_null(fwi_json_get(fwi_json_at(top, 0), "bytes"));
    }
    fwi_json_free(j);
    fw_result_free(r);
}

typedef struct stream_log {
    char text[4096];
    size_t len;
    int finals;
} stream_log;

static int32_t on_event(const fw_event *ev, void *ud)
{
    stream_log *s = ud;
    memcpy(s->text + s->len, ev->text, ev->text_len);
    s->len += ev->text_len;
    s->text[s->len] = 0;
    s->finals += ev->finish_reason != NULL;
    return 0;
}

static void test_streaming_and_completions(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    const fw_chat_message msgs[] = {{"user", "Tell me about Lily"}};
    fw_request rq;
    fw_request_init(&rq);
    rq.max_tokens = 12;
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    sp.has_seed = 1;
    sp.seed = 5;
    stream_log log = {{0}, 0, 0};
    fw_result *r = NULL;
    assert_int_equal(fw_generate_chat(ctx, msgs, 1, NULL, &sp, &rq, on_event, &log, &r), FW_OK);
    char *text = result_text(r, 0);
    assert_string_equal(log.text, text);
    assert_int_equal(log.finals, 1);
    free(text);
    fw_result_free(r);

    /* a completions request is not a chat: no template, prompt as given */
    r = gen_json("{\"prompt\":\"Once upon a time\",\"max_tokens\":1}");
    assert_null(fw_result_chat_template(r));
    char *pt = prompt_text(r);
    assert_string_equal(pt, "Once upon a time");
    free(pt);
    fwi_json *j = result_json(r);
    assert_string_equal(jstr(fwi_json_get(j, "object")), "text_completion");
    fwi_json_free(j);
    fw_result_free(r);
    r = gen_json("{\"prompt\":[1,403],\"max_tokens\":1}");
    size_t n;
    assert_int_equal(fw_result_prompt_text(r, NULL, 0, &n), FW_E_NOT_FOUND);
    fw_result_free(r);
    assert_null(fw_result_chat_template(NULL));
    assert_int_equal(fw_result_prompt_text(NULL, NULL, 0, &n), FW_E_INVALID_ARG);
    /* the dry run of a completions request */
    const char *body = "{\"prompt\":\"Once upon a time\"}";
    char dry[512];
    assert_int_equal(fw_request_prompt_json(model, body, strlen(body), NULL, 0, dry, sizeof dry,
                                            &n), FW_OK);
    assert_string_equal(dry, "{\"prompt\":\"Once upon a time\",\"prompt_token_ids\":"
                             "[1,403,407,261,378],\"prompt_fragments\":[\"Once upon a time\"],"
                             "\"chat_template\":null}");
}

static void test_errors(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    char *gemma = read_template("google-gemma-2-2b-it.jinja");
    char *gq = json_quote(gemma);
    char raising[8192];
    snprintf(raising, sizeof raising,
             "{\"messages\":[{\"role\":\"system\",\"content\":\"x\"},{\"role\":\"user\","
             "\"content\":\"y\"}],\"chat_template\":%s}", gq);
    struct { const char *body; fw_status st; const char *sub, *sub2; } bad[] = {
        {"{\"prompt\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"b\"}]}",
         FW_E_INVALID_ARG, "'prompt'", "'messages'"},
        {"{\"messages\":\"hello\"}", FW_E_TYPE, "'messages'", "array"},
        {"{\"messages\":{\"role\":\"user\"}}", FW_E_TYPE, "'messages'", "array"},
        {"{\"messages\":[]}", FW_E_INVALID_ARG, "'messages'", "empty"},
        {"{\"messages\":[1]}", FW_E_TYPE, "messages[0]", "object"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"content\":\"b\"}]}",
         FW_E_TYPE, "messages[1].role", "string"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":5}]}", FW_E_TYPE,
         "messages[0].content", "string"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
         FW_E_UNSUPPORTED, "messages[0].content[0]", "text"},
        {"{\"prompt\":\"a\",\"chat_template\":\"x\"}", FW_E_INVALID_ARG, "'chat_template'",
         "messages"},
        {"{\"prompt\":\"a\",\"add_generation_prompt\":false}", FW_E_INVALID_ARG,
         "'add_generation_prompt'", "messages"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"chat_template\":1}",
         FW_E_TYPE, "'chat_template'", "string"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"chat_template_kwargs\":[]}",
         FW_E_TYPE, "'chat_template_kwargs'", "object"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"add_generation_prompt\":1}",
         FW_E_TYPE, "'add_generation_prompt'", "true or false"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"chat_template\":\"{% if %}\"}",
         FW_E_FORMAT, "chat template", "line 1"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"temperature\":5}",
         FW_E_RANGE, "temperature", "temperature"},
        {raising, FW_E_INVALID_ARG, "raise_exception", "System role not supported"},
        {"{\"max_tokens\":3}", FW_E_INVALID_ARG, "'prompt'", "'messages'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fw_result *r = (fw_result *)1;
        fw_status st = fw_generate_json(ctx, bad[i].body, strlen(bad[i].body), NULL, 0, NULL,
                                        NULL, &r);
        if (st != bad[i].st || !strstr(fw_last_error(), bad[i].sub) ||
            !strstr(fw_last_error(), bad[i].sub2))
            fail_msg("%.120s: status %d, message '%s'", bad[i].body, (int)st, fw_last_error());
        assert_null(r);
        /* the same errors from the dry run, except what only generation
         * checks (none of these) */
        size_t n;
        if (bad[i].st != FW_E_RANGE)
            assert_int_equal(fw_request_prompt_json(model, bad[i].body, strlen(bad[i].body),
                                                    NULL, 0, NULL, 0, &n), bad[i].st);
    }
    /* the C API */
    fw_result *r;
    const fw_chat_message sys[] = {{"system", "x"}, {"user", "y"}};
    fw_chat_params cp;
    fw_chat_params_init(&cp);
    cp.chat_template = gemma;
    r = (fw_result *)1;
    assert_int_equal(fw_generate_chat(ctx, sys, 2, &cp, NULL, NULL, NULL, NULL, &r),
                     FW_E_INVALID_ARG);
    assert_null(r);
    assert_non_null(strstr(fw_last_error(), "System role not supported"));
    assert_int_equal(fw_generate_chat(ctx, sys, 0, NULL, NULL, NULL, NULL, NULL, &r),
                     FW_E_INVALID_ARG);
    assert_non_null(strstr(fw_last_error(), "message"));
    assert_int_equal(fw_generate_chat(ctx, NULL, 2, NULL, NULL, NULL, NULL, NULL, &r),
                     FW_E_INVALID_ARG);
    const fw_chat_message norole[] = {{"user", "a"}, {NULL, "b"}};
    assert_int_equal(fw_generate_chat(ctx, norole, 2, NULL, NULL, NULL, NULL, NULL, &r),
                     FW_E_INVALID_ARG);
    assert_non_null(strstr(fw_last_error(), "message 1"));
    const fw_chat_message badutf8[] = {{"user", "a\xff"}};
    assert_int_equal(fw_generate_chat(ctx, badutf8, 1, NULL, NULL, NULL, NULL, NULL, &r),
                     FW_E_INVALID_ARG);
    assert_non_null(strstr(fw_last_error(), "UTF-8"));
    fw_chat_params_init(&cp);
    cp.template_vars_json = "{\"a\":";
    assert_int_equal(fw_generate_chat(ctx, sys, 2, &cp, NULL, NULL, NULL, NULL, &r),
                     FW_E_FORMAT);
    assert_non_null(strstr(fw_last_error(), "template_vars_json"));
    cp.template_vars_json = "[1]";
    assert_int_equal(fw_generate_chat(ctx, sys, 2, &cp, NULL, NULL, NULL, NULL, &r),
                     FW_E_FORMAT);
    assert_non_null(strstr(fw_last_error(), "template_vars_json"));
    cp.template_vars_json = NULL;
    cp.chat_template = gemma;
    cp.struct_size = 8; /* an older caller: fields past struct_size are not
                           read (the template), they keep their defaults */
    fw_request rq;
    fw_request_init(&rq);
    rq.max_tokens = 0;
    assert_int_equal(fw_generate_chat(ctx, sys, 2, &cp, NULL, &rq, NULL, NULL, &r), FW_OK);
    assert_string_equal(fw_result_chat_template(r), "chatml");
    fw_result_free(r);
    assert_int_equal(fw_generate_chat(NULL, sys, 2, NULL, NULL, NULL, NULL, NULL, &r),
                     FW_E_INVALID_ARG);
    assert_int_equal(fw_generate_chat(ctx, sys, 2, NULL, NULL, NULL, NULL, NULL, NULL),
                     FW_E_INVALID_ARG);
    free(gq);
    free(gemma);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chatml_fallback),
        cmocka_unit_test(test_generation_prompt_and_content),
        cmocka_unit_test(test_override_bos_not_doubled),
        cmocka_unit_test(test_template_kwargs),
        cmocka_unit_test(test_echo_and_logprobs),
        cmocka_unit_test(test_streaming_and_completions),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
