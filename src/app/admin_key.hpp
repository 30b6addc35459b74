// The server administrator's credential: an API key secret kept in a file the operator names
// (--admin-key-file). A fresh install has no such file: the server makes one with a new secret,
// readable by its owner only, and says where once, so that the admin API is never open and
// never needs a secret typed on a command line (where `ps` would show it). docs/security.md.
#pragma once

#include <string>

#include "common/status.hpp"

namespace tsunagu::app {

struct AdminKey {
  std::string secret_hash;  // auth::secret_hash() of the secret: the secret is not kept
  bool created = false;     // the file was made now
};

// Reads the secret from `path` (surrounding blanks and newlines ignored), or, when there is no
// file, writes a new one there with mode 0600. InvalidRequest naming the file when it cannot be
// read or written, or holds no secret.
Result<AdminKey> read_or_create_admin_key(const std::string& path);

}  // namespace tsunagu::app
