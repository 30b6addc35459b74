// Fuzz target: JSON text to a DOM (common/json.hpp), through each of the three doors a request
// body can take: a view (copied), a NUL-terminated string, and in place (what prepare.cpp uses).
// They must agree, and a parsed value must survive being written and read again unchanged.
#include <memory>
#include <string>

#include "common/json.hpp"
#include "fuzz.hpp"

using namespace tsunagu;
using fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::text_of(data, size);

  JsonDoc view_doc;
  const Status view = parse_json(text, view_doc);
  fuzz::require_explained(view, "parse_json(string_view)");

  const std::string owned(text);
  JsonDoc string_doc;
  const Status terminated = parse_json(owned, string_doc);
  require(terminated.ok() == view.ok(), "parse_json(string) agrees with parse_json(string_view)",
          terminated.detail() + " | " + view.detail());

  std::shared_ptr<JsonDoc> in_place_doc;
  const Status in_place = parse_json_in_place(std::string(text), in_place_doc);
  require(in_place.ok() == view.ok(), "parse_json_in_place agrees with parse_json",
          in_place.detail() + " | " + view.detail());
  require(in_place_doc != nullptr, "parse_json_in_place always sets the document");

  if (!view.ok()) {
    require(view_doc.IsNull() && in_place_doc->IsNull(), "a failed parse leaves a null document");
    require(view.detail() == terminated.detail(), "the three parses explain a fault alike",
            view.detail() + " | " + terminated.detail());
    return 0;
  }
  const std::string written = json_text(view_doc);
  require(json_text(string_doc) == written && json_text(*in_place_doc) == written,
          "the three parses read the same value", written);

  JsonDoc again;
  const Status reread = parse_json(written, again);
  require(reread.ok(), "written JSON parses again", reread.detail() + " | " + written);
  require(json_text(again) == written, "written JSON reads back to the same value",
          written + " | " + json_text(again));
  return 0;
}
