// A small JSON reader and writer, enough for safetensors headers (objects of strings, integer
// arrays and a string-to-string metadata map) and the metrics log.
//
// It is not a general-purpose JSON library: no streaming, no comments, no duplicate-key policy
// beyond "the first one wins", numbers are kept as their text and read as int64 or double on
// demand. Parsing never exits: it returns an error message that the caller turns into a
// WIGGLE_CHECK naming the file. reference: RFC 8259.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wiggle {

struct Json {
    enum class Kind { Null, Bool, Number, String, Array, Object };
    Kind kind = Kind::Null;
    bool boolean = false;
    std::string text;         // a String's value (UTF-8), or a Number's literal
    std::vector<Json> items;  // Array
    std::vector<std::pair<std::string, Json>> members;  // Object, in file order

    // Declared here, defaulted below where Json is complete (clang needs the members' element
    // type complete where their destructor is made).
    Json();
    Json(const Json&);
    Json(Json&&) noexcept;
    Json& operator=(const Json&);
    Json& operator=(Json&&) noexcept;
    ~Json();

    bool is_object() const { return kind == Kind::Object; }
    bool is_array() const { return kind == Kind::Array; }
    bool is_string() const { return kind == Kind::String; }
    bool is_number() const { return kind == Kind::Number; }
    // The member named `key` of an Object, or null.
    const Json* find(std::string_view key) const;
    // A Number that is an integer in int64's range (no fraction, no exponent), else nullopt.
    std::optional<int64_t> as_int() const;
    std::optional<double> as_double() const;
};

inline Json::Json() = default;
inline Json::Json(const Json&) = default;
inline Json::Json(Json&&) noexcept = default;
inline Json& Json::operator=(const Json&) = default;
inline Json& Json::operator=(Json&&) noexcept = default;
inline Json::~Json() = default;

struct JsonParse {
    std::optional<Json> value;
    std::string error;  // "at byte 17: expected ':'" when value is empty
};

// Parses one JSON value filling all of `text` (surrounding whitespace allowed). Nesting deeper than
// 64 levels is an error, so hostile input cannot overflow the stack.
JsonParse parse_json(std::string_view text);

// `s` as a JSON string literal, quotes included: escapes " \ and control characters; other bytes
// are copied as they are (the caller passes UTF-8).
std::string json_quote(std::string_view s);

}  // namespace wiggle
