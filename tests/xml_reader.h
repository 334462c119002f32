// A small strict XML reader for the tests that check SVG output (tests/util/plot_test.cpp, the
// ladder tests): balanced tags, quoted attributes, valid entities, one root. Test-only, not a
// general XML parser (no DTDs, no CDATA, numeric entities are not decoded).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wiggle::testing {

struct Element {
    std::string name;
    std::map<std::string, std::string> attrs;
    std::string text;  // the character data directly inside, entities decoded
    std::vector<std::unique_ptr<Element>> children;
    const Element* parent = nullptr;

    std::string attr(const std::string& key) const {
        auto it = attrs.find(key);
        return it == attrs.end() ? std::string() : it->second;
    }
    // Every element below this one (depth first) that has this name and, if given, this class.
    void find_all(const std::string& n, const std::string& cls,
                  std::vector<const Element*>& out) const {
        for (const auto& c : children) {
            if (c->name == n && (cls.empty() || c->attr("class") == cls)) out.push_back(c.get());
            c->find_all(n, cls, out);
        }
    }
    std::vector<const Element*> all(const std::string& n, const std::string& cls = "") const {
        std::vector<const Element*> out;
        find_all(n, cls, out);
        return out;
    }
};

struct ParsedXml {
    std::unique_ptr<Element> root;
    std::string error;  // empty when well-formed
};

inline ParsedXml parse_xml(const std::string& s) {
    ParsedXml p;
    size_t i = 0;
    auto fail = [&](const std::string& why) {
        p.error = why + " at offset " + std::to_string(i);
        p.root.reset();
        return std::move(p);
    };
    auto decode = [&](const std::string& raw, std::string& out) {
        for (size_t k = 0; k < raw.size(); ++k) {
            if (raw[k] == '<') return false;
            if (raw[k] != '&') {
                out += raw[k];
                continue;
            }
            const size_t semi = raw.find(';', k);
            if (semi == std::string::npos) return false;
            const std::string ent = raw.substr(k + 1, semi - k - 1);
            static const std::map<std::string, char> named = {
                {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
            if (named.count(ent)) {
                out += named.at(ent);
            } else if (ent.size() > 1 && ent[0] == '#') {
                out += '?';
            } else {
                return false;
            }
            k = semi;
        }
        return true;
    };
    auto is_name = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
               c == '.';
    };
    std::vector<Element*> stack;
    if (s.compare(0, 5, "<?xml") == 0) {
        i = s.find("?>");
        if (i == std::string::npos) return fail("unterminated XML declaration");
        i += 2;
    }
    while (i < s.size()) {
        if (s[i] != '<') {  // character data
            const size_t next = s.find('<', i);
            const std::string raw =
                s.substr(i, next == std::string::npos ? std::string::npos : next - i);
            std::string text;
            if (!decode(raw, text)) return fail("bad character data");
            if (stack.empty()) {
                if (raw.find_first_not_of(" \t\r\n") != std::string::npos)
                    return fail("text outside the root");
            } else {
                stack.back()->text += text;
            }
            if (next == std::string::npos) break;
            i = next;
            continue;
        }
        if (s.compare(i, 4, "<!--") == 0) {
            const size_t end = s.find("-->", i);
            if (end == std::string::npos) return fail("unterminated comment");
            i = end + 3;
            continue;
        }
        if (s.compare(i, 2, "</") == 0) {
            size_t k = i + 2;
            while (k < s.size() && is_name(s[k])) ++k;
            const std::string name = s.substr(i + 2, k - i - 2);
            if (stack.empty() || stack.back()->name != name)
                return fail("mismatched </" + name + ">");
            while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) ++k;
            if (k >= s.size() || s[k] != '>') return fail("bad end tag");
            stack.pop_back();
            i = k + 1;
            continue;
        }
        // a start tag
        size_t k = i + 1;
        while (k < s.size() && is_name(s[k])) ++k;
        auto e = std::make_unique<Element>();
        e->name = s.substr(i + 1, k - i - 1);
        if (e->name.empty()) return fail("empty tag name");
        bool self_closing = false;
        while (true) {
            while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) ++k;
            if (k >= s.size()) return fail("unterminated tag <" + e->name);
            if (s[k] == '>') {
                ++k;
                break;
            }
            if (s.compare(k, 2, "/>") == 0) {
                self_closing = true;
                k += 2;
                break;
            }
            const size_t a = k;
            while (k < s.size() && is_name(s[k])) ++k;
            const std::string key = s.substr(a, k - a);
            if (key.empty() || k + 1 >= s.size() || s[k] != '=' || s[k + 1] != '"')
                return fail("bad attribute in <" + e->name);
            const size_t close = s.find('"', k + 2);
            if (close == std::string::npos) return fail("unterminated attribute");
            std::string value;
            if (!decode(s.substr(k + 2, close - k - 2), value)) return fail("bad attribute value");
            if (e->attrs.count(key)) return fail("duplicate attribute " + key);
            e->attrs[key] = value;
            k = close + 1;
        }
        Element* raw = e.get();
        if (stack.empty()) {
            if (p.root) return fail("second root element");
            p.root = std::move(e);
        } else {
            raw->parent = stack.back();
            stack.back()->children.push_back(std::move(e));
        }
        if (!self_closing) stack.push_back(raw);
        i = k;
    }
    if (!stack.empty()) return fail("unclosed <" + stack.back()->name + ">");
    if (!p.root) return fail("no root element");
    return p;
}

inline const Element& root_of(const ParsedXml& p) { return *p.root; }

inline ::testing::AssertionResult well_formed_svg(const std::string& svg, ParsedXml& out) {
    out = parse_xml(svg);
    if (!out.error.empty())
        return ::testing::AssertionFailure() << "not well-formed XML: " << out.error;
    if (out.root->name != "svg")
        return ::testing::AssertionFailure() << "root is <" << out.root->name << ">";
    if (out.root->attr("xmlns") != "http://www.w3.org/2000/svg")
        return ::testing::AssertionFailure() << "no SVG namespace";
    return ::testing::AssertionSuccess();
}

// The text of every <text> element below e.
inline std::vector<std::string> texts(const Element& e) {
    std::vector<std::string> out;
    for (const Element* t : e.all("text")) out.push_back(t->text);
    return out;
}

}  // namespace wiggle::testing
