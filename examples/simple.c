/*
 * simple.c - the smallest complete use of libfwinfer: load a model, turn a
 * prompt into tokens, evaluate it, then pick the next token greedily again
 * and again, printing the text as it comes.
 *
 *   simple MODEL.gguf "Once upon a time" [MAX_TOKENS]
 *
 * This is the low-level loop (fw_context_eval + fw_context_logits + a
 * sampler).  fw_generate (see stream.c) does all of it, and more, in one
 * call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwinfer.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT [MAX_TOKENS]\n", argv[0]);
        return 2;
    }
    const char *prompt = argv[2];
    int max_tokens = argc > 3 ? atoi(argv[3]) : 64;
    int rc = 1;
    fw_model *model = NULL;
    fw_context *ctx = NULL;
    fw_sampler *sampler = NULL;
    fw_detok_stream *detok = NULL;
    fw_token *tokens = NULL;

    /* 1. Load the model.  NULL params: the defaults (the file is mapped, not
     *    copied).  On failure fw_last_error() says what was wrong. */
    if (fw_model_load(argv[1], NULL, &model) != FW_OK)
        goto fail;

    /* 2. A context holds the KV cache and the worker threads.  NULL params:
     *    the model's trained context length, one thread per CPU. */
    if (fw_context_new(model, NULL, &ctx) != FW_OK)
        goto fail;

    /* 3. Tokenize.  A first call with no buffer asks for the count; the
     *    flags add the model's BOS token and parse special-token text. */
    const uint32_t flags = FW_TOKENIZE_ADD_SPECIAL | FW_TOKENIZE_PARSE_SPECIAL;
    size_t n_prompt = 0;
    fw_status st = fw_tokenize(model, prompt, strlen(prompt), flags, NULL, 0, &n_prompt);
    if (st != FW_OK && st != FW_E_BUFFER_TOO_SMALL)
        goto fail;
    tokens = malloc((n_prompt + 1) * sizeof *tokens);
    if (!tokens || fw_tokenize(model, prompt, strlen(prompt), flags, tokens,
                               n_prompt, &n_prompt) != FW_OK)
        goto fail;

    /* 4. A greedy sampler: temperature 0 always takes the most probable
     *    token (ties to the lowest id), the same as an argmax over
     *    fw_context_logits().  Parameters are set by their API name. */
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    if (fw_sampler_params_set_f(&sp, "temperature", 0.0) != FW_OK ||
        fw_sampler_new(model, &sp, &sampler) != FW_OK)
        goto fail;

    /* 5. A streaming detokenizer turns token ids into text, holding back the
     *    bytes of a character split across tokens.  strip_leading_space 0:
     *    we print the prompt ourselves, so keep the space of the first
     *    generated word. */
    if (fw_detok_stream_new(model, 0, 0, &detok) != FW_OK)
        goto fail;

    /* 6. Evaluate the whole prompt in one call: sequence 0, position 0.
     *    Afterwards fw_context_logits(ctx, -1) holds the scores of every
     *    vocabulary entry as the next token. */
    if (fw_context_eval(ctx, 0, 0, tokens, n_prompt, 0) != FW_OK)
        goto fail;
    fputs(prompt, stdout);

    /* 7. The loop: choose a token, print its text, evaluate it at the next
     *    position, repeat until an end token, max_tokens or a full context. */
    int32_t n_vocab = fw_model_n_vocab(model);
    int32_t pos = (int32_t)n_prompt;
    for (int i = 0; i < max_tokens && (uint32_t)pos < fw_context_n_ctx(ctx); i++) {
        fw_token next;
        if (fw_sampler_sample(sampler, fw_context_logits(ctx, -1), n_vocab, &next,
                              NULL) != FW_OK)
            goto fail;
        if (fw_vocab_is_eog(model, next))
            break; /* end of text */

        char piece[256];
        size_t n = 0;
        if (fw_detok_stream_push(detok, next, piece, sizeof piece, &n) != FW_OK)
            goto fail; /* no single token is 256 bytes long in practice */
        fwrite(piece, 1, n, stdout);
        fflush(stdout);

        if (fw_context_eval(ctx, 0, pos++, &next, 1, 0) != FW_OK)
            goto fail;
    }

    /* 8. Flush the detokenizer: bytes of an unfinished character, if any,
     *    come out as U+FFFD. */
    char tail[64];
    size_t n_tail = 0;
    if (fw_detok_stream_flush(detok, tail, sizeof tail, &n_tail) != FW_OK)
        goto fail;
    fwrite(tail, 1, n_tail, stdout);
    putchar('\n');
    rc = 0;

fail:
    if (rc)
        fprintf(stderr, "simple: %s\n", fw_last_error());
    /* 9. Free in reverse order; every fw_*_free accepts NULL. */
    free(tokens);
    fw_detok_stream_free(detok);
    fw_sampler_free(sampler);
    fw_context_free(ctx);
    fw_model_free(model);
    return rc;
}
