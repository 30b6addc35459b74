// String ordering for orderBy (ETSI GS CIM 009 §4.23.1): ICU collation, the root ("und")
// collation unless the request names another with `collation` (an IETF RFC 6067 tag such as
// "de-u-co-phonebk"). Strings sort by their ICU sort keys, computed once per entity.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.hpp"

struct UCollator;

namespace tsunagu::ngsild::query {

class Collation {
 public:
  // The collator for `tag` (shared and cached; "" is the root collation). BadRequestData when
  // the tag is not a well-formed language tag.
  static Result<std::shared_ptr<const Collation>> get(std::string_view tag);

  // A byte string whose memcmp order is this collation's order of `utf8`.
  std::string sort_key(std::string_view utf8) const;

  explicit Collation(UCollator* c) : collator_(c) {}
  ~Collation();
  Collation(const Collation&) = delete;
  Collation& operator=(const Collation&) = delete;

 private:
  UCollator* collator_;  // used through const ICU calls only, which are thread-safe
};

}  // namespace tsunagu::ngsild::query
