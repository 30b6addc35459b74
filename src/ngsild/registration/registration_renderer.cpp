#include "ngsild/registration/registration_renderer.hpp"

#include <strings.h>

#include <algorithm>
#include <iterator>

#include "common/json.hpp"
#include "common/uri.hpp"

namespace tsunagu::ngsild::registration {
namespace {

// Header names compare without case (RFC 9110 §5.1).
bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view sv(const JsonValue& v) {
  return {v.GetString(), v.GetStringLength()};
}

void compacted_names(const JsonValue& v, const jsonld::Context& ctx, JsonWriter& w,
                     std::string& scratch) {
  if (v.IsString()) {
    w.string(ctx.compact_iri(sv(v), scratch));
    return;
  }
  w.begin_array();
  for (const auto& n : v.GetArray())
    w.string(ctx.compact_iri(sv(n), scratch));
  w.end_array();
}

// `information` as stored, its entity types and attribute names compacted.
void information(const JsonValue& v, const jsonld::Context& ctx, JsonWriter& w) {
  std::string scratch;
  w.begin_array();
  for (const auto& info : v.GetArray()) {
    w.begin_object();
    for (const auto& m : info.GetObject()) {
      w.key(sv(m.name));
      if (sv(m.name) != "entities") {
        compacted_names(m.value, ctx, w, scratch);
        continue;
      }
      w.begin_array();
      for (const auto& e : m.value.GetArray()) {
        w.begin_object();
        for (const auto& f : e.GetObject()) {
          w.key(sv(f.name));
          if (sv(f.name) == "type") {
            compacted_names(f.value, ctx, w, scratch);
          } else {
            w.string(sv(f.value));
          }
        }
        w.end_object();
      }
      w.end_array();
    }
    w.end_object();
  }
  w.end_array();
}

// contextSourceInfo as given, but the values of the headers that carry credentials for the
// source (docs/security.md, "Credentials for context sources"): a caller who may read the
// registration is not thereby given what opens the source.
void source_info(const JsonValue& v, JsonWriter& w) {
  constexpr std::string_view kSecret[] = {"authorization", "proxy-authorization", "x-api-key",
                                          "cookie"};
  w.begin_array();
  for (const auto& kv : v.GetArray()) {
    w.begin_object();
    for (const auto& m : kv.GetObject()) {
      w.key(sv(m.name));
      const bool secret =
          sv(m.name) == "value" && kv.HasMember("key") && kv["key"].IsString() &&
          std::any_of(std::begin(kSecret), std::end(kSecret),
                      [&kv](std::string_view h) { return same_name(sv(kv["key"]), h); });
      if (secret) {
        w.string(kRedacted);
      } else {
        w.raw(json_text(m.value));
      }
    }
    w.end_object();
  }
  w.end_array();
}

void datetime_member(JsonWriter& w, std::string_view name, int64_t t) {
  if (t == kNoTime) return;
  w.key(name);
  w.string(format_datetime(t));
}

}  // namespace

void render_registration(const Registration& r, const RegistrationState& st,
                         const jsonld::Context& ctx, JsonWriter& w,
                         const RegistrationRenderOptions& o) {
  w.begin_object();
  w.key("id");
  w.string(r.id);
  w.key("type");
  w.string("ContextSourceRegistration");
  JsonDoc doc;
  if (parse_json(r.doc, doc).ok() && doc.IsObject()) {
    std::string scratch;
    for (const auto& m : doc.GetObject()) {
      std::string_view name = sv(m.name);
      if (name == "information") {
        w.key(name);
        information(m.value, ctx, w);
        continue;
      }
      if (name == "contextSourceInfo" && m.value.IsArray()) {
        w.key(name);
        source_info(m.value, w);
        continue;
      }
      // A context source property's name is stored expanded.
      w.key(is_absolute_uri(name) ? ctx.compact_iri(name, scratch) : name);
      w.raw(json_text(m.value));
    }
  }
  if (st.times_sent > 0) {
    w.key("status");
    w.string(st.last_failure != kNoTime && st.last_failure >= st.last_success ? "failed" : "ok");
    w.key("timesSent");
    w.number(static_cast<int64_t>(st.times_sent));
    w.key("timesFailed");
    w.number(static_cast<int64_t>(st.times_failed));
  }
  datetime_member(w, "lastSuccess", st.last_success);
  datetime_member(w, "lastFailure", st.last_failure);
  if (o.sys_attrs) {
    datetime_member(w, "createdAt", r.created_at);
    datetime_member(w, "modifiedAt", r.modified_at);
  }
  if (o.with_context) {
    w.plain_key("@context");
    w.raw(ctx.body_json());
  }
  w.end_object();
}

}  // namespace tsunagu::ngsild::registration
