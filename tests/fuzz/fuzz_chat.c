/* fuzz_chat.c - libFuzzer target: the chat-template engine on arbitrary
 * template text, rendered with a fixed conversation through the public
 * API.  It must never crash, leak or hang; every result is FW_OK (then the
 * text and its length agree) or one of the documented error codes with a
 * message. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwinfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "fuzz_chat: %s:%d: check failed: %s\n",           \
                    __FILE__, __LINE__, #c);                                  \
            abort();                                                          \
        }                                                                     \
    } while (0)

static const char MSGS[] =
    "[{\"role\":\"system\",\"content\":\"Be brief. \\\"q\\\" 'a'\"},"
    "{\"role\":\"user\",\"content\":\"Hi \\u00e9\\u65e5 \\ud83e\\udd16\\n\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"abcdefghi\","
    "\"function\":{\"name\":\"f\",\"arguments\":{\"x\":1.5}}}]},"
    "{\"role\":\"tool\",\"content\":\"42\"}]";
static const char VARS[] =
    "{\"bos_token\":\"<s>\",\"eos_token\":\"</s>\",\"tools\":[{\"type\":\"function\","
    "\"function\":{\"name\":\"f\",\"parameters\":{}}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *tmpl = malloc(size + 1);
    if (!tmpl)
        return 0;
    memcpy(tmpl, data, size);
    tmpl[size] = '\0';
    for (int agp = 0; agp < 2; agp++) {
        char buf[256];
        size_t n = 0;
        fw_status st = fw_chat_apply_template_json(NULL, tmpl, MSGS, VARS, agp, buf,
                                                   sizeof buf, &n);
        if (st == FW_OK) {
            CHECK(n < sizeof buf && strlen(buf) <= n);
        } else if (st == FW_E_BUFFER_TOO_SMALL) {
            CHECK(n >= sizeof buf);
        } else {
            CHECK(st == FW_E_FORMAT || st == FW_E_UNSUPPORTED || st == FW_E_INVALID_ARG ||
                  st == FW_E_TYPE || st == FW_E_RANGE || st == FW_E_NOMEM);
            CHECK(fw_last_error()[0] != '\0');
        }
    }
    free(tmpl);
    return 0;
}
