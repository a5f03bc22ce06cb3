// The fast JSON walk behind CSimdjson.h. See the header for the contract; the comments here say
// why the walk is shaped as it is.
#include "CSimdjson.h"

#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

namespace {

// Foundation's JSONDecoder refuses 512 nested containers; the walk gives up (and lets the caller
// ask the reference) well before that, which also bounds this recursion.
constexpr int kMaxDepth = 256;
constexpr size_t kMaxKeyLength = 64;
// Foundation reads an Int written with a fraction or an exponent through a Double only below
// 2^53; above, it re-reads the text as a Decimal, which the walk does not imitate.
constexpr double kExactIntegerLimit = 9007199254740992.0;

struct failure {
    int status;
    int field;
    const char *message;
};

}  // namespace

struct tandem_json_parser {
    ondemand::parser parser;
    std::vector<std::string> keys;
    std::vector<uint8_t> kinds;
    // Schema indices by key length: a key is compared only with keys of its own length.
    std::vector<int> by_length[kMaxKeyLength + 1];
    // Each key's first 16 bytes, zero-padded, as two words: keys of up to 16 bytes are matched
    // by comparing words (see lookup_raw).
    std::vector<std::pair<uint64_t, uint64_t>> packed;
    std::unique_ptr<char[]> buffer;
    size_t capacity = 0;
    std::vector<tandem_json_string> strings;
    std::vector<double> numbers;
};

namespace {

inline failure ok() { return {TANDEM_JSON_OK, -1, ""}; }

inline failure syntax(error_code error) {
    return {TANDEM_JSON_SYNTAX, -1, simdjson::error_message(error)};
}

inline failure mismatch(int field, const char *message) { return {TANDEM_JSON_TYPE, field, message}; }

inline failure number_error(int field, const char *message) { return {TANDEM_JSON_NUMBER, field, message}; }

int lookup(const tandem_json_parser *parser, std::string_view key) {
    if (key.size() > kMaxKeyLength) return -1;
    for (int index : parser->by_length[key.size()]) {
        if (std::memcmp(parser->keys[index].data(), key.data(), key.size()) == 0) return index;
    }
    return -1;
}

// Keys of the schema's length, compared as two words: `key` lies inside the padded document
// (a raw key), so its 16 bytes can be loaded whatever its length, and the bytes past its end
// are masked off. No memcmp call per field.
int lookup_raw(const tandem_json_parser *parser, std::string_view key) {
    size_t n = key.size();
    if (n > 16) return lookup(parser, key);
    uint64_t low, high;
    std::memcpy(&low, key.data(), 8);
    std::memcpy(&high, key.data() + 8, 8);
    if (n < 8) {
        low &= n == 0 ? 0 : ~uint64_t(0) >> (64 - 8 * n);
        high = 0;
    } else if (n < 16) {
        high &= n == 8 ? 0 : ~uint64_t(0) >> (64 - 8 * (n - 8));
    }
    for (int index : parser->by_length[n]) {
        if (parser->packed[index].first == low && parser->packed[index].second == high) return index;
    }
    return -1;
}

// A key without escapes is its raw bytes: no copy. Only keys with a backslash are unescaped,
// which also validates their escapes (Foundation refuses a key with a bad escape).
inline error_code read_key(ondemand::field &field, std::string_view &key, bool *is_raw = nullptr) {
    const char *raw = field.key().raw();
    size_t length = 0;
    while (raw[length] != '"' && raw[length] != '\\') length++;
    if (raw[length] == '"') {
        key = std::string_view(raw, length);
        if (is_raw) *is_raw = true;
        return simdjson::SUCCESS;
    }
    if (is_raw) *is_raw = false;
    return field.unescaped_key().get(key);
}

// The number's text: simdjson's raw token runs up to the next structural character, so trailing
// whitespace is trimmed.
inline std::string_view number_text(ondemand::value &value) {
    std::string_view token = value.raw_json_token();
    size_t length = token.size();
    while (length > 0) {
        char c = token[length - 1];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        length--;
    }
    return token.substr(0, length);
}

// RFC 8259's number grammar, exactly.
bool is_json_number(std::string_view text) {
    size_t i = 0, n = text.size();
    if (i < n && text[i] == '-') i++;
    if (i >= n) return false;
    if (text[i] == '0') {
        i++;
    } else if (text[i] >= '1' && text[i] <= '9') {
        while (i < n && text[i] >= '0' && text[i] <= '9') i++;
    } else {
        return false;
    }
    if (i < n && text[i] == '.') {
        i++;
        size_t start = i;
        while (i < n && text[i] >= '0' && text[i] <= '9') i++;
        if (i == start) return false;
    }
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        if (i < n && (text[i] == '+' || text[i] == '-')) i++;
        size_t start = i;
        while (i < n && text[i] >= '0' && text[i] <= '9') i++;
        if (i == start) return false;
    }
    return i == n;
}

inline bool has_fraction_or_exponent(std::string_view text) {
    for (char c : text) {
        if (c == '.' || c == 'e' || c == 'E') return true;
    }
    return false;
}

// A literal such as 1e-400 reads as zero; Foundation refuses it for a Double.
inline bool mantissa_is_nonzero(std::string_view text) {
    for (char c : text) {
        if (c == 'e' || c == 'E') break;
        if (c >= '1' && c <= '9') return true;
    }
    return false;
}

// Checks a value no field asks for: Foundation parses the whole document, so an unknown field
// must still be well-formed. The check is at least as strict as Foundation's.
failure validate(ondemand::value value, int depth) {
    ondemand::json_type type;
    error_code error = value.type().get(type);
    if (error) return syntax(error);
    switch (type) {
    case ondemand::json_type::array: {
        if (depth >= kMaxDepth) return {TANDEM_JSON_DEPTH, -1, "nested too deeply"};
        ondemand::array array;
        if ((error = value.get_array().get(array))) return syntax(error);
        for (auto element_result : array) {
            ondemand::value element;
            if ((error = element_result.get(element))) return syntax(error);
            failure inner = validate(element, depth + 1);
            if (inner.status != TANDEM_JSON_OK) return inner;
        }
        return ok();
    }
    case ondemand::json_type::object: {
        if (depth >= kMaxDepth) return {TANDEM_JSON_DEPTH, -1, "nested too deeply"};
        ondemand::object object;
        if ((error = value.get_object().get(object))) return syntax(error);
        for (auto field_result : object) {
            ondemand::field field;
            if ((error = std::move(field_result).get(field))) return syntax(error);
            std::string_view key;
            if ((error = read_key(field, key))) return syntax(error);
            failure inner = validate(field.value(), depth + 1);
            if (inner.status != TANDEM_JSON_OK) return inner;
        }
        return ok();
    }
    case ondemand::json_type::number:
        if (!is_json_number(number_text(value))) return syntax(simdjson::NUMBER_ERROR);
        return ok();
    case ondemand::json_type::string: {
        std::string_view text;
        if ((error = value.get_string().get(text))) return syntax(error);
        return ok();
    }
    case ondemand::json_type::boolean: {
        bool flag;
        if ((error = value.get_bool().get(flag))) return syntax(error);
        return ok();
    }
    case ondemand::json_type::null: {
        bool null = false;
        if ((error = value.is_null().get(null)) || !null) return syntax(simdjson::N_ATOM_ERROR);
        return ok();
    }
    }
    return syntax(simdjson::TAPE_ERROR);
}

inline error_code push_string(tandem_json_parser *parser, ondemand::value &value) {
    std::string_view text;
    error_code error = value.get_string().get(text);
    if (!error) parser->strings.push_back({text.data(), text.size()});
    return error;
}

// A finite double as Foundation reads one: a non-zero literal that underflows to zero is refused.
inline failure read_double(int index, ondemand::value &value, double &number) {
    std::string_view text = number_text(value);
    if (value.get_double().get(number)) return number_error(index, "number out of range");
    if (number == 0 && mantissa_is_nonzero(text)) return number_error(index, "number underflows to zero");
    return ok();
}

// Walks an object's members in order, calling `member(key, value, type)` for each; its first
// failure ends the walk. (A repeated key whose later value is of another kind is accepted by
// Foundation — the first wins before types are checked — but refused by the callers here, which
// lets the caller ask the reference.)
template <typename Member>
failure read_members(ondemand::value &value, Member member) {
    ondemand::object object;
    error_code error = value.get_object().get(object);
    if (error) return syntax(error);
    for (auto field_result : object) {
        ondemand::field field;
        if ((error = std::move(field_result).get(field))) return syntax(error);
        std::string_view key;
        if ((error = read_key(field, key))) return syntax(error);
        ondemand::value element = field.value();
        ondemand::json_type element_type;
        if ((error = element.type().get(element_type))) return syntax(error);
        failure inner = member(key, element, element_type);
        if (inner.status != TANDEM_JSON_OK) return inner;
    }
    return ok();
}

failure read_field(tandem_json_parser *parser, int index, ondemand::value value, tandem_json_slot &slot) {
    ondemand::json_type type;
    error_code error = value.type().get(type);
    if (error) return syntax(error);
    if (type == ondemand::json_type::null) {
        bool null = false;
        if ((error = value.is_null().get(null)) || !null) return syntax(simdjson::N_ATOM_ERROR);
        slot.state = TANDEM_JSON_NULL;
        return ok();
    }
    switch (parser->kinds[index]) {
    case TANDEM_JSON_KIND_STRING: {
        if (type != ondemand::json_type::string) return mismatch(index, "expected a string");
        std::string_view text;
        if ((error = value.get_string().get(text))) return syntax(error);
        slot.string = {text.data(), text.size()};
        break;
    }
    case TANDEM_JSON_KIND_INT: {
        if (type != ondemand::json_type::number) return mismatch(index, "expected an integer");
        std::string_view text = number_text(value);
        if (!has_fraction_or_exponent(text)) {
            if ((error = value.get_int64().get(slot.integer))) return number_error(index, "integer out of range");
        } else {
            double number;
            if ((error = value.get_double().get(number))) return number_error(index, "number out of range");
            if (!(std::fabs(number) < kExactIntegerLimit) || number != std::trunc(number)) {
                return number_error(index, "not a whole number below 2^53");
            }
            slot.integer = static_cast<int64_t>(number);
        }
        break;
    }
    case TANDEM_JSON_KIND_DOUBLE: {
        if (type != ondemand::json_type::number) return mismatch(index, "expected a number");
        failure inner = read_double(index, value, slot.number);
        if (inner.status != TANDEM_JSON_OK) return inner;
        break;
    }
    case TANDEM_JSON_KIND_BOOL: {
        if (type != ondemand::json_type::boolean) return mismatch(index, "expected a boolean");
        bool flag;
        if ((error = value.get_bool().get(flag))) return syntax(error);
        slot.boolean = flag ? 1 : 0;
        break;
    }
    case TANDEM_JSON_KIND_STRING_ARRAY: {
        if (type != ondemand::json_type::array) return mismatch(index, "expected an array");
        ondemand::array array;
        if ((error = value.get_array().get(array))) return syntax(error);
        slot.first = static_cast<uint32_t>(parser->strings.size());
        for (auto element_result : array) {
            ondemand::value element;
            if ((error = element_result.get(element))) return syntax(error);
            ondemand::json_type element_type;
            if ((error = element.type().get(element_type))) return syntax(error);
            if (element_type != ondemand::json_type::string) return mismatch(index, "expected a string element");
            if ((error = push_string(parser, element))) return syntax(error);
        }
        slot.count = static_cast<uint32_t>(parser->strings.size() - slot.first);
        break;
    }
    case TANDEM_JSON_KIND_STRING_MAP: {
        if (type != ondemand::json_type::object) return mismatch(index, "expected an object");
        slot.first = static_cast<uint32_t>(parser->strings.size());
        failure inner = read_members(
            value, [&](std::string_view key, ondemand::value &element, ondemand::json_type element_type) {
                if (element_type != ondemand::json_type::string) return mismatch(index, "expected a string value");
                parser->strings.push_back({key.data(), key.size()});
                error_code pushed = push_string(parser, element);
                return pushed ? syntax(pushed) : ok();
            });
        if (inner.status != TANDEM_JSON_OK) return inner;
        slot.count = static_cast<uint32_t>((parser->strings.size() - slot.first) / 2);
        break;
    }
    case TANDEM_JSON_KIND_NUMBER_MAP: {
        if (type != ondemand::json_type::object) return mismatch(index, "expected an object");
        slot.first = static_cast<uint32_t>(parser->strings.size());
        slot.first_number = static_cast<uint32_t>(parser->numbers.size());
        failure inner = read_members(
            value, [&](std::string_view key, ondemand::value &element, ondemand::json_type element_type) {
                if (element_type != ondemand::json_type::number) return mismatch(index, "expected a number value");
                double number;
                failure read = read_double(index, element, number);
                if (read.status != TANDEM_JSON_OK) return read;
                parser->strings.push_back({key.data(), key.size()});
                parser->numbers.push_back(number);
                return ok();
            });
        if (inner.status != TANDEM_JSON_OK) return inner;
        slot.count = static_cast<uint32_t>(parser->strings.size() - slot.first);
        break;
    }
    default:
        return mismatch(index, "unknown kind");
    }
    slot.state = TANDEM_JSON_PRESENT;
    return ok();
}

failure parse(tandem_json_parser *parser, const void *bytes, size_t length, tandem_json_slot *slots) {
    size_t needed = length + simdjson::SIMDJSON_PADDING;
    if (needed < length) return {TANDEM_JSON_CAPACITY, -1, "document too large"};
    if (parser->capacity < needed) {
        size_t capacity = needed < 4096 ? 4096 : needed + needed / 2;
        parser->buffer.reset(new char[capacity]);
        parser->capacity = capacity;
    }
    if (length > 0) std::memcpy(parser->buffer.get(), bytes, length);
    std::memset(parser->buffer.get() + length, 0, simdjson::SIMDJSON_PADDING);

    ondemand::document document;
    error_code error = parser->parser.iterate(parser->buffer.get(), length, parser->capacity).get(document);
    if (error) return syntax(error);
    ondemand::object object;
    if ((error = document.get_object().get(object))) {
        if (error == simdjson::INCORRECT_TYPE) return {TANDEM_JSON_NOT_OBJECT, -1, "expected a JSON object"};
        return syntax(error);
    }
    for (auto field_result : object) {
        ondemand::field field;
        if ((error = std::move(field_result).get(field))) return syntax(error);
        std::string_view key;
        bool is_raw = false;
        if ((error = read_key(field, key, &is_raw))) return syntax(error);
        int index = is_raw ? lookup_raw(parser, key) : lookup(parser, key);
        // Foundation keeps the first of repeated keys; later ones must only be well-formed.
        if (index < 0 || slots[index].state != TANDEM_JSON_ABSENT) {
            failure inner = validate(field.value(), 2);
            if (inner.status != TANDEM_JSON_OK) return inner;
            continue;
        }
        failure inner = read_field(parser, index, field.value(), slots[index]);
        if (inner.status != TANDEM_JSON_OK) return inner;
    }
    // Past the object there must be nothing but whitespace.
    const char *location = nullptr;
    error = document.current_location().get(location);
    if (error != simdjson::OUT_OF_BOUNDS) return {TANDEM_JSON_TRAILING, -1, "content after the JSON object"};
    return ok();
}

}  // namespace

extern "C" const char *tandem_json_implementation(void) {
    return simdjson::get_active_implementation()->name().data();
}

extern "C" const char *tandem_json_ondemand_implementation(void) {
    return SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);
}

extern "C" tandem_json_parser *tandem_json_parser_new(const char *const *keys, const uint8_t *kinds, size_t count) {
    if (count > INT32_MAX) return nullptr;
    tandem_json_parser *parser = new (std::nothrow) tandem_json_parser();
    if (parser == nullptr) return nullptr;
    try {
        for (size_t i = 0; i < count; i++) {
            std::string key(keys[i]);
            if (kinds[i] < TANDEM_JSON_KIND_STRING || kinds[i] > TANDEM_JSON_KIND_NUMBER_MAP
                || key.size() > kMaxKeyLength) {
                delete parser;
                return nullptr;
            }
            parser->by_length[key.size()].push_back(static_cast<int>(i));
            uint64_t words[2] = {0, 0};
            std::memcpy(words, key.data(), key.size() < 16 ? key.size() : 16);
            parser->packed.emplace_back(words[0], words[1]);
            parser->keys.push_back(std::move(key));
            parser->kinds.push_back(kinds[i]);
        }
        parser->strings.reserve(64);
        parser->numbers.reserve(16);
    } catch (...) {
        delete parser;
        return nullptr;
    }
    return parser;
}

extern "C" void tandem_json_parser_free(tandem_json_parser *parser) { delete parser; }

extern "C" tandem_json_result tandem_json_parse(
    tandem_json_parser *parser,
    const void *bytes,
    size_t length,
    tandem_json_slot *slots
) {
    tandem_json_result result{TANDEM_JSON_OK, -1, "", nullptr, 0, nullptr, 0};
    std::memset(static_cast<void *>(slots), 0, sizeof(tandem_json_slot) * parser->keys.size());
    parser->strings.clear();
    parser->numbers.clear();
    failure outcome;
    try {
        outcome = parse(parser, bytes, length, slots);
    } catch (...) {
        outcome = {TANDEM_JSON_CAPACITY, -1, "out of memory"};
    }
    result.status = outcome.status;
    result.field = outcome.field;
    result.message = outcome.message;
    result.strings = parser->strings.data();
    result.string_count = parser->strings.size();
    result.numbers = parser->numbers.data();
    result.number_count = parser->numbers.size();
    return result;
}
