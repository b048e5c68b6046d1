/* A small backtracking regex engine over Unicode code points, covering the
 * syntax used by llama.cpp's BPE pre-tokenizer patterns, with the matching
 * semantics of Python's `regex` module (VERSION0, no flags) for that subset.
 *
 * Supported syntax
 *   literals (any code point; the pattern itself is UTF-8), `.` (any but \n)
 *   escapes: \s \S \d \D \w \W  \p{X} \P{X} \pX \PX where X is a general
 *            category (L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe
 *            Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp C Cc Cf Cs Co Cn);
 *            \n \r \t \f \v \a \0 \xHH \uHHHH \UHHHHHHHH, \ + any
 *            non-alphanumeric ASCII character
 *   classes: [...] [^...] with ranges and the escapes above inside
 *   anchors: ^ \A (start), $ (end, or before a final \n), \Z (end), \b \B
 *   groups:  (...) (capturing groups are treated as non-capturing),
 *            (?:...) (?P<n>...) (?<n>...) (?=...) (?!...) (?>...) (?i:...),
 *            (?i) at the very start of the pattern, (?#...)
 *   quantifiers: ? * + {n} {n,} {,m} {n,m} {,}, each greedy, lazy (suffix ?) or
 *            possessive (suffix +)
 *   alternation: |
 * Case-insensitive mode uses simple case folding and applies to literals
 * and to \s \d \w (and their negations) and `.`; classes and \p under (?i)
 * are rejected as unsupported. Quantifying a group that can match the empty
 * string (other than with ?, {0,1}, {1}) is rejected as unsupported.
 *
 * Matching never recurses on the input: backtracking uses an explicit,
 * growable stack and single-character loops are iterative with O(1) stack
 * use. Recursion depth is bounded by the pattern's nesting (lookaheads). */
#ifndef FWI_TOKENIZER_REGEX_H
#define FWI_TOKENIZER_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fwi_regex_status {
    FWI_REGEX_OK = 0,           /* compiled / a match was found */
    FWI_REGEX_NOMATCH = 1,      /* search found no match */
    FWI_REGEX_ERR_SYNTAX = -1,  /* malformed pattern */
    FWI_REGEX_ERR_UNSUPPORTED = -2, /* valid regex syntax outside the subset */
    FWI_REGEX_ERR_LIMIT = -3,   /* pattern too large or too deeply nested */
    FWI_REGEX_ERR_NOMEM = -4,   /* allocation failure */
    FWI_REGEX_ERR_ARG = -5      /* invalid argument */
};

struct fwi_regex; /* compiled pattern: immutable, shareable between threads */

/* Reusable matcher memory (the backtracking stack). Zero-initialise it (or
 * use FWI_REGEX_SCRATCH_INIT); release it with fwi_regex_scratch_free().
 * One scratch must not be used by two threads at once. */
struct fwi_regex_scratch {
    void *stack;
    size_t cap;
};
#define FWI_REGEX_SCRATCH_INIT {NULL, 0}

/* Compile a UTF-8 pattern of `len` bytes. On success *out receives a new
 * regex owned by the caller (free with fwi_regex_free). On failure *out is
 * NULL and, if errbuf is non-NULL, a NUL-terminated message is written to
 * errbuf (truncated to errbuf_size). */
enum fwi_regex_status fwi_regex_compile(const char *pattern, size_t len, struct fwi_regex **out,
                                        char *errbuf, size_t errbuf_size);

void fwi_regex_free(struct fwi_regex *re);

void fwi_regex_scratch_free(struct fwi_regex_scratch *scratch);

/* Search text[0..n) for the leftmost match starting at a position >= from.
 * The whole of text[0..n) is the subject: ^, $, \b and lookaheads see its
 * bounds. If must_advance is true, an empty match at `from` is not accepted
 * (Python's rule for the search that follows an empty match).
 * Returns FWI_REGEX_OK with [*mstart, *mend) set, FWI_REGEX_NOMATCH, or
 * FWI_REGEX_ERR_NOMEM. */
enum fwi_regex_status fwi_regex_search(const struct fwi_regex *re, const uint32_t *text, size_t n,
                                       size_t from, bool must_advance,
                                       struct fwi_regex_scratch *scratch,
                                       size_t *mstart, size_t *mend);

/* finditer-style iteration: non-overlapping matches, left to right, with
 * Python's handling of empty matches. */
struct fwi_regex_iter {
    const struct fwi_regex *re;
    const uint32_t *text;
    size_t n;
    size_t pos;
    bool must_advance;
    bool done;
};

void fwi_regex_iter_init(struct fwi_regex_iter *it, const struct fwi_regex *re,
                         const uint32_t *text, size_t n);

/* Next match: FWI_REGEX_OK with [*mstart, *mend), FWI_REGEX_NOMATCH when
 * exhausted, or FWI_REGEX_ERR_NOMEM. */
enum fwi_regex_status fwi_regex_iter_next(struct fwi_regex_iter *it, struct fwi_regex_scratch *scratch,
                                          size_t *mstart, size_t *mend);

#endif /* FWI_TOKENIZER_REGEX_H */
