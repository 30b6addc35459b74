// The @context documents the server keeps as files: the hosted ones (ETSI GS CIM 009 §5.13.2),
// in DATA_DIR/contexts/, and those an operator preloads with --context-dir so that their URLs
// need no network (docs/jsonld.md, "Preloaded @contexts").
#pragma once

#include <string>
#include <vector>

#include "ngsild/jsonld/context.hpp"
#include "store/document_files.hpp"

namespace tsunagu::app {

// Hosted @contexts as DATA_DIR/contexts/{localId}.jsonld, each the document as added, its
// modification time the createdAt. Usage counts are not kept across restarts.
class HostedContextFiles final : public ngsild::jsonld::HostedContextStorage {
 public:
  explicit HostedContextFiles(const std::string& data_dir);
  Result<std::vector<Document>> load() override;
  Status save(const Document& doc) override;
  Status erase(const std::string& local_id) override;

 private:
  store::DocumentFiles files_;
};

// One entry of a --context-dir: the URL a document answers for and its text.
struct PreloadedContext {
  std::string url;
  std::string file;  // as named in the index, for messages
  std::string text;
};

// Reads DIR/index, whose lines are "URL = FILE" (FILE relative to DIR; blank lines and lines
// starting with '#' are skipped), and each file it names. InvalidRequest naming the index line
// for a malformed line, a URL given twice or a file that cannot be read.
Result<std::vector<PreloadedContext>> read_context_dir(const std::string& dir);

// At start: reads the hosted @contexts back into `contexts`, then preloads those of
// `context_dir` (when not empty). Returns how many were preloaded; the first fault otherwise,
// naming the file.
Result<int64_t> load_contexts(ngsild::jsonld::ContextCache& contexts,
                              const std::string& context_dir);

}  // namespace tsunagu::app
