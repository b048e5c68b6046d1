/*
 * stream.c - generate with one call, fw_generate, and print the text while
 * it is produced through the streaming callback.
 *
 *   stream MODEL.gguf "Once upon a time" [MAX_TOKENS]
 *
 * Samples at temperature 0.8 with the fixed seed 42, so a run is
 * repeatable: `fwinfer-cli -m MODEL -p PROMPT -n MAX_TOKENS --temperature
 * 0.8 --seed 42` prints the same text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwinfer.h"

/* What the callback keeps between events (passed through user_data). */
typedef struct stream_state {
    int n_events;
    char finish[16];
} stream_state;

/* Called once per generated token, on the thread that called fw_generate.
 * `ev->text` is the new text (may be "" while a multi-byte character or a
 * possible stop string is held back); the last event of a choice carries
 * the finish reason.  The event is only valid during the call. */
static int32_t on_event(const fw_event *ev, void *user_data)
{
    stream_state *s = user_data;
    s->n_events++;
    fwrite(ev->text, 1, ev->text_len, stdout);
    fflush(stdout); /* show each piece at once */
    if (ev->finish_reason)
        snprintf(s->finish, sizeof s->finish, "%s", ev->finish_reason);
    return 0; /* non-zero would stop generation here */
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT [MAX_TOKENS]\n", argv[0]);
        return 2;
    }
    const char *prompt = argv[2];
    int rc = 1;
    fw_model *model = NULL;
    fw_context *ctx = NULL;
    fw_result *result = NULL;

    /* 1. Model and context with the default parameters (see simple.c). */
    if (fw_model_load(argv[1], NULL, &model) != FW_OK ||
        fw_context_new(model, NULL, &ctx) != FW_OK)
        goto fail;

    /* 2. Sampling parameters, set by their API names (the names of the
     *    Fireworks/OpenAI request fields).  Fields left alone take the
     *    model's defaults (its generation_config.json), else neutral values.
     *    A value out of range fails here with a message naming it. */
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    if (fw_sampler_params_set_f(&sp, "temperature", 0.8) != FW_OK ||
        fw_sampler_params_set_u64(&sp, "seed", 42) != FW_OK)
        goto fail;

    /* 3. The request fields that are not about sampling: how many tokens,
     *    how many choices, logprobs, stop strings, ... */
    fw_request rq;
    fw_request_init(&rq);
    rq.max_tokens = argc > 3 ? atoi(argv[3]) : 64;

    /* 4. Generate.  The prompt is text here (tokenized with the model's BOS);
     *    token ids could be given instead.  The callback prints as we go. */
    stream_state state = {0, ""};
    fputs(prompt, stdout);
    if (fw_generate(ctx, prompt, strlen(prompt), NULL, 0, &sp, &rq, on_event,
                    &state, &result) != FW_OK)
        goto fail;
    putchar('\n');

    /* 5. The result also has everything at once: the text, the token ids,
     *    the token counts and the seed that was used. */
    int32_t n_prompt = 0, n_completion = 0;
    fw_result_usage(result, &n_prompt, &n_completion, NULL);
    fprintf(stderr, "[%s: %d events, %d prompt tokens, %d generated, seed %llu]\n",
            state.finish, state.n_events, (int)n_prompt, (int)n_completion,
            (unsigned long long)fw_result_seed(result));
    rc = 0;

fail:
    if (rc)
        fprintf(stderr, "stream: %s\n", fw_last_error());
    fw_result_free(result);
    fw_context_free(ctx);
    fw_model_free(model);
    return rc;
}
