/*
 * choices.c - several choices for one prompt, with the log-probability of
 * every generated token.
 *
 *   choices MODEL.gguf "Once upon a time" [N [MAX_TOKENS]]
 *
 * The prompt is evaluated once; each choice continues from a copy of that
 * state with its own random stream (seed 7, temperature 1).  Output, one
 * block per choice (texts are JSON strings, so they stay on one line):
 *
 *   choice 0 finish=length text=", there was a girl"
 *     token 432 logprob -0.031782 piece=","
 *
 * The most likely alternatives of each token (top_logprobs) are in the
 * result's JSON form, fw_result_to_json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwinfer.h"

/* Print s[0..n) as a JSON string: quotes, backslashes and control
 * characters escaped. */
static void print_quoted(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* A token's text, as the logprobs listing shows it. */
static void print_piece(const fw_model *model, fw_token token)
{
    char piece[256];
    size_t n = 0;
    if (fw_token_to_piece(model, token, FW_DETOK_UNPARSE_SPECIAL, piece, sizeof piece,
                          &n) != FW_OK)
        n = 0;
    print_quoted(piece, n);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT [N [MAX_TOKENS]]\n", argv[0]);
        return 2;
    }
    const char *prompt = argv[2];
    int n_choices = argc > 3 ? atoi(argv[3]) : 3;
    int rc = 1;
    fw_model *model = NULL;
    fw_context *ctx = NULL;
    fw_result *result = NULL;
    char *text = NULL;

    if (fw_model_load(argv[1], NULL, &model) != FW_OK)
        goto fail;

    /* 1. A context with one sequence (one KV cache) per choice: the choices
     *    are generated one after the other, each in its own sequence. */
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_seq_max = n_choices > 0 ? (uint32_t)n_choices : 1;
    if (fw_context_new(model, &cp, &ctx) != FW_OK)
        goto fail;

    /* 2. Sampling: temperature 1 with a fixed seed; choice i draws from
     *    its own random stream derived from (seed, i). */
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    if (fw_sampler_params_set_f(&sp, "temperature", 1.0) != FW_OK ||
        fw_sampler_params_set_u64(&sp, "seed", 7) != FW_OK)
        goto fail;

    /* 3. The request: n choices, logprobs on.  Out-of-range values
     *    (n = 0, max_tokens = -1) fail in fw_generate with a message naming
     *    the field. */
    fw_request rq;
    fw_request_init(&rq);
    rq.n = n_choices;
    rq.max_tokens = argc > 4 ? atoi(argv[4]) : 12;
    rq.logprobs = 1;

    /* 4. Generate without a callback: everything is in the result. */
    if (fw_generate(ctx, prompt, strlen(prompt), NULL, 0, &sp, &rq, NULL, NULL,
                    &result) != FW_OK)
        goto fail;

    for (int32_t c = 0; c < fw_result_n_choices(result); c++) {
        /* 5. The text of choice c: ask for the size, then fetch it. */
        size_t len = 0;
        fw_result_text(result, c, NULL, 0, &len);
        free(text);
        text = malloc(len + 1);
        if (!text || fw_result_text(result, c, text, len + 1, &len) != FW_OK)
            goto fail;
        printf("choice %d finish=%s text=", (int)c, fw_result_finish_reason(result, c));
        print_quoted(text, len);
        putchar('\n');

        /* 6. Its tokens and their log-probabilities under the model (the
         *    raw distribution, before temperature and filters: always <= 0). */
        size_t n_tokens = 0;
        const fw_token *ids = fw_result_tokens(result, c, &n_tokens);
        for (size_t j = 0; j < n_tokens; j++) {
            float logprob, sampling_logprob;
            if (fw_result_logprob(result, c, j, &logprob, &sampling_logprob) != FW_OK)
                goto fail;
            printf("  token %d logprob %.6f piece=", (int)ids[j], (double)logprob);
            print_piece(model, ids[j]);
            putchar('\n');
        }
    }
    rc = 0;

fail:
    if (rc)
        fprintf(stderr, "choices: %s\n", fw_last_error());
    free(text);
    fw_result_free(result);
    fw_context_free(ctx);
    fw_model_free(model);
    return rc;
}
