// Tests only: the expanded names the model holds, spelled short. D("speed") is a term of the
// default context (what an undefined term expands to), N("observedAt") one of the NGSI-LD core
// vocabulary, A(iri) any IRI as given.
#pragma once

#include <string>
#include <string_view>

#include "common/atom.hpp"

namespace tsunagu::ngsild::test_atoms {

inline constexpr std::string_view kNgsiLd = "https://uri.etsi.org/ngsi-ld/";
inline constexpr std::string_view kDefault = "https://uri.etsi.org/ngsi-ld/default-context/";

inline Atom D(std::string_view term) {
  return Atom::intern(std::string(kDefault) + std::string(term));
}
inline Atom N(std::string_view term) {
  return Atom::intern(std::string(kNgsiLd) + std::string(term));
}
inline Atom A(std::string_view iri) {
  return Atom::intern(iri);
}

}  // namespace tsunagu::ngsild::test_atoms
