// A folder of small text documents, each written whole and durably: to a temporary file that is
// fsynced, renamed over its name, and the folder fsynced, so that a crash leaves the old text or
// the new one, never a torn file. The documents are opaque here; the server keeps its hosted
// @contexts this way (app/context_files.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace tsunagu::store {

// Fsyncs the folder `dir`, so that names made or removed in it survive a power loss.
// InternalError when it cannot be opened or synced.
Status sync_dir(const std::string& dir);

// Thread-safe for distinct names (each call works on its own files).
class DocumentFiles {
 public:
  struct Document {
    std::string name;
    std::string text;
    int64_t time_us = 0;  // as given to put()
  };

  // Documents are `dir`/NAME`suffix`; `dir` is made (and its parent synced) on the first put.
  DocumentFiles(std::string dir, std::string suffix);

  // Every document, by name; removes what an interrupted put() left behind. InternalError when
  // the folder or a document cannot be read. No folder yet: no documents.
  Result<std::vector<Document>> load() const;
  // Writes `text` as document `name` (letters, digits, '-' and '_'), with `time_us` kept as the
  // file's modification time. Durable when it returns Ok; InternalError otherwise.
  Status put(const std::string& name, std::string_view text, int64_t time_us) const;
  // Removes document `name` durably; Ok when it was not there.
  Status remove(const std::string& name) const;

 private:
  std::string path(const std::string& name) const { return dir_ + "/" + name + suffix_; }
  Status check_name(const std::string& name) const;

  std::string dir_;
  std::string suffix_;
};

}  // namespace tsunagu::store
