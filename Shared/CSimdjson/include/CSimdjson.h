// simdjson (On-Demand API) behind a small C ABI for the Models module's fast JSON path.
//
// The shim walks one JSON object and fills one slot per field of a fixed schema (the keys and
// kinds a record type declares); Swift turns the slots into the record. It never allocates per
// field: strings point into the parser's own buffer, arrays and maps into a string list it
// reuses. Everything a call returns stays valid until the next call on the same parser.
//
// The walk is deliberately strict: whatever it does not fully understand it reports as a status
// other than TANDEM_JSON_OK, never as a value, so that the caller can ask the reference decoder
// for the verdict. Every exported symbol is prefixed `tandem_json_`.
#ifndef TANDEM_CSIMDJSON_H
#define TANDEM_CSIMDJSON_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/// The simdjson implementation chosen at run time for this CPU (e.g. "haswell"), for reports.
const char *tandem_json_implementation(void);

/// The implementation the On-Demand walk was compiled for (On-Demand is compile-time only in
/// simdjson 3.0; without -march flags this is "fallback", which is as fast for small records).
const char *tandem_json_ondemand_implementation(void);

/// What a schema field holds.
typedef enum {
    TANDEM_JSON_KIND_STRING = 1,
    /// An integer as Foundation's JSONDecoder reads `Int`: plain integers, or other numbers whose
    /// value is a whole number of magnitude below 2^53.
    TANDEM_JSON_KIND_INT = 2,
    /// A finite double; a non-zero literal that underflows to zero is refused (as Foundation does).
    TANDEM_JSON_KIND_DOUBLE = 3,
    TANDEM_JSON_KIND_BOOL = 4,
    /// An array of strings: `first`/`count` index the string list.
    TANDEM_JSON_KIND_STRING_ARRAY = 5,
    /// An object of strings: `count` key/value pairs, alternating, from `first` in the string list.
    /// A repeated key keeps its first value (as Foundation does).
    TANDEM_JSON_KIND_STRING_MAP = 6,
    /// An object of numbers (each as DOUBLE reads it): `count` keys from `first` in the string list,
    /// their values from `first_number` in the number list. A repeated key is listed each time;
    /// the reader keeps the first (as Foundation does).
    TANDEM_JSON_KIND_NUMBER_MAP = 7,
} tandem_json_kind;

/// Whether a field was in the document.
typedef enum {
    TANDEM_JSON_ABSENT = 0,
    TANDEM_JSON_NULL = 1,
    TANDEM_JSON_PRESENT = 2,
} tandem_json_state;

/// Outcome of a parse.
typedef enum {
    TANDEM_JSON_OK = 0,
    /// Not JSON (simdjson's error; includes invalid UTF-8 and unescaped control characters).
    TANDEM_JSON_SYNTAX = 1,
    /// The top level is not an object.
    TANDEM_JSON_NOT_OBJECT = 2,
    /// A known field holds a value of another kind (`field` says which).
    TANDEM_JSON_TYPE = 3,
    /// A known field holds a number that does not fit its kind (`field` says which).
    TANDEM_JSON_NUMBER = 4,
    /// Nested deeper than the walk follows.
    TANDEM_JSON_DEPTH = 5,
    /// Something follows the top-level object.
    TANDEM_JSON_TRAILING = 6,
    /// Out of memory, or the document is larger than the parser accepts.
    TANDEM_JSON_CAPACITY = 7,
} tandem_json_status;

/// A UTF-8 string, not NUL-terminated.
typedef struct {
    const char *bytes;
    size_t length;
} tandem_json_string;

/// One field's value. Only the members of its kind are meaningful.
typedef struct {
    /// A tandem_json_state.
    uint8_t state;
    uint8_t boolean;
    int64_t integer;
    double number;
    tandem_json_string string;
    /// String list range of a STRING_ARRAY, STRING_MAP or NUMBER_MAP (its keys).
    uint32_t first;
    uint32_t count;
    /// Number list start of a NUMBER_MAP's values (`count` of them).
    uint32_t first_number;
} tandem_json_slot;

/// What a parse found besides the slots.
typedef struct {
    /// A tandem_json_status.
    int status;
    /// The schema index of the offending field, or -1.
    int field;
    /// A static, human-readable message (empty when OK).
    const char *message;
    /// The string list that STRING_ARRAY and STRING_MAP slots index.
    const tandem_json_string *strings;
    size_t string_count;
    /// The number list that NUMBER_MAP slots index.
    const double *numbers;
    size_t number_count;
} tandem_json_result;

typedef struct tandem_json_parser tandem_json_parser;

/// Makes a parser for one schema: `count` keys (UTF-8, NUL-terminated) with their kinds
/// (tandem_json_kind). The keys are copied. Returns NULL if out of memory or a kind is unknown.
/// A parser is used by one thread at a time.
tandem_json_parser *tandem_json_parser_new(const char *const *keys, const uint8_t *kinds, size_t count);

/// Frees a parser (NULL is allowed).
void tandem_json_parser_free(tandem_json_parser *parser);

/// Parses one document (`length` bytes, copied into a padded buffer the parser owns and grows)
/// and fills `slots` (one per schema field, in schema order). Strings in the slots and the result
/// point into the parser and stay valid until its next parse. Never throws, never traps.
tandem_json_result tandem_json_parse(
    tandem_json_parser *parser,
    const void *bytes,
    size_t length,
    tandem_json_slot *slots
);

#ifdef __cplusplus
}
#endif
#endif
