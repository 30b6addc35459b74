#include "ngsild/query/collation.hpp"

#include <unicode/ucol.h>
#include <unicode/uloc.h>
#include <unicode/ustring.h>

#include <mutex>
#include <unordered_map>
#include <vector>

namespace tsunagu::ngsild::query {

Collation::~Collation() {
  ucol_close(collator_);
}

Result<std::shared_ptr<const Collation>> Collation::get(std::string_view tag) {
  static std::mutex mu;
  static auto* cache = new std::unordered_map<std::string, std::shared_ptr<const Collation>>();
  std::string key(tag);
  std::lock_guard lock(mu);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  char locale[ULOC_FULLNAME_CAPACITY] = "";
  UErrorCode err = U_ZERO_ERROR;
  if (!key.empty()) {
    int32_t parsed = 0;
    uloc_forLanguageTag(key.c_str(), locale, sizeof locale, &parsed, &err);
    if (U_FAILURE(err) || parsed != static_cast<int32_t>(key.size())) {
      return Status::BadRequestData("collation: '" + key.substr(0, 80) +
                                    "' is not an ICU collation (an RFC 6067 language tag such as "
                                    "und or de-u-co-phonebk)");
    }
  }
  err = U_ZERO_ERROR;
  UCollator* c = ucol_open(locale, &err);
  if (U_FAILURE(err) || c == nullptr) {
    return Status::BadRequestData("collation: '" + key.substr(0, 80) +
                                  "' cannot be opened: " + u_errorName(err));
  }
  auto collation = std::make_shared<const Collation>(c);
  if (cache->size() < 256) cache->emplace(key, collation);
  return collation;
}

std::string Collation::sort_key(std::string_view utf8) const {
  std::vector<UChar> text(utf8.size() + 1);
  int32_t len = 0;
  UErrorCode err = U_ZERO_ERROR;
  u_strFromUTF8Lenient(text.data(), static_cast<int32_t>(text.size()), &len, utf8.data(),
                       static_cast<int32_t>(utf8.size()), &err);
  if (U_FAILURE(err)) return std::string(utf8);
  std::string key(utf8.size() * 4 + 16, '\0');
  int32_t n = ucol_getSortKey(collator_, text.data(), len, reinterpret_cast<uint8_t*>(key.data()),
                              static_cast<int32_t>(key.size()));
  if (n > static_cast<int32_t>(key.size())) {
    key.resize(n);
    n = ucol_getSortKey(collator_, text.data(), len, reinterpret_cast<uint8_t*>(key.data()), n);
  }
  key.resize(n > 0 ? n - 1 : 0);  // drop the terminating zero byte
  return key;
}

}  // namespace tsunagu::ngsild::query
