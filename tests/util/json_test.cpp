// The JSON reader against values whose parse Python's json module gives (the oracle: each
// expected value below is what json.loads returns for the same text).
#include "util/json.h"

#include <gtest/gtest.h>

#include <string>

namespace wiggle {
namespace {

TEST(Json, ParsesASafetensorsHeader) {
    const auto p = parse_json(R"({"a.weight":{"dtype":"F32","shape":[2, 3],"data_offsets":[0,24]},)"
                              R"( "__metadata__" : {"vocab":"\n !\"\\\u00e9\ud83d\ude00"}})");
    ASSERT_TRUE(p.value.has_value()) << p.error;
    const Json& j = *p.value;
    ASSERT_TRUE(j.is_object());
    const Json* a = j.find("a.weight");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->find("dtype")->text, "F32");
    ASSERT_EQ(a->find("shape")->items.size(), 2u);
    EXPECT_EQ(a->find("shape")->items[1].as_int(), 3);
    EXPECT_EQ(a->find("data_offsets")->items[1].as_int(), 24);
    // json.loads gives '\n !"\\é😀': é is U+00E9 (C3 A9), 😀 is U+1F600 (F0 9F 98 80).
    EXPECT_EQ(j.find("__metadata__")->find("vocab")->text, "\n !\"\\\xC3\xA9\xF0\x9F\x98\x80");
}

TEST(Json, Numbers) {
    const auto p = parse_json("[0, -12, 3.5, 1e3, 9007199254740993, true, false, null]");
    ASSERT_TRUE(p.value.has_value()) << p.error;
    const auto& v = p.value->items;
    EXPECT_EQ(v[0].as_int(), 0);
    EXPECT_EQ(v[1].as_int(), -12);
    EXPECT_FALSE(v[2].as_int().has_value());
    EXPECT_EQ(v[2].as_double(), 3.5);
    EXPECT_EQ(v[3].as_double(), 1000.0);
    EXPECT_EQ(v[4].as_int(), 9007199254740993LL);  // exact, not through double
    EXPECT_TRUE(v[5].boolean);
    EXPECT_EQ(v[7].kind, Json::Kind::Null);
}

TEST(Json, RejectsMalformedText) {
    for (const char* bad :
         {"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1 2]", "\"abc", "01x", "{\"a\":1} x",
          "\"\\q\"", "\"\\ud800\"", "tru", "-", "1.", "\"\x01\""}) {
        const auto p = parse_json(bad);
        EXPECT_FALSE(p.value.has_value()) << "accepted: " << bad;
        EXPECT_FALSE(p.error.empty());
    }
}

TEST(Json, DeepNestingIsAnErrorNotACrash) {
    const std::string deep(100000, '[');
    const auto p = parse_json(deep);
    EXPECT_FALSE(p.value.has_value());
    EXPECT_NE(p.error.find("nested too deeply"), std::string::npos) << p.error;
}

TEST(Json, QuoteRoundTrips) {
    const std::string s = "tab\there \"quoted\" back\\slash \x01 caf\xC3\xA9\n";
    EXPECT_EQ(json_quote(s), "\"tab\\there \\\"quoted\\\" back\\\\slash \\u0001 caf\xC3\xA9\\n\"");
    const auto p = parse_json(json_quote(s));
    ASSERT_TRUE(p.value.has_value()) << p.error;
    EXPECT_EQ(p.value->text, s);
}

}  // namespace
}  // namespace wiggle
