#include "app/context_files.hpp"

#include <fstream>
#include <set>
#include <sstream>

namespace tsunagu::app {
namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r");
  size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

}  // namespace

HostedContextFiles::HostedContextFiles(const std::string& data_dir)
    : files_(data_dir + "/contexts", ".jsonld") {}

Result<std::vector<HostedContextFiles::Document>> HostedContextFiles::load() {
  auto files = files_.load();
  if (!files.ok()) return files.status();
  std::vector<Document> out;
  for (auto& f : *files)
    out.push_back({std::move(f.name), std::move(f.text), f.time_us});
  return out;
}

Status HostedContextFiles::save(const Document& doc) {
  return files_.put(doc.local_id, doc.text, doc.created_us);
}

Status HostedContextFiles::erase(const std::string& local_id) {
  return files_.remove(local_id);
}

Result<std::vector<PreloadedContext>> read_context_dir(const std::string& dir) {
  const std::string index = dir + "/index";
  std::ifstream in(index);
  if (!in) return Status::InvalidRequest("--context-dir: cannot read '" + index + "'");
  std::vector<PreloadedContext> out;
  std::set<std::string> urls;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string where = index + ":" + std::to_string(n) + ": ";
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    // The URL ends at the first blank (a URL has none), so that it may hold '='.
    size_t blank = line.find_first_of(" \t");
    std::string rest = blank == std::string::npos ? "" : trim(line.substr(blank));
    if (rest.size() < 2 || rest[0] != '=') {
      return Status::InvalidRequest(where + "expected 'URL = FILE'");
    }
    PreloadedContext c{line.substr(0, blank), trim(rest.substr(1)), {}};
    if (!urls.insert(c.url).second) {
      return Status::InvalidRequest(where + "'" + c.url + "' is given twice");
    }
    std::string path = c.file[0] == '/' ? c.file : dir + "/" + c.file;
    std::ifstream doc(path, std::ios::binary);
    if (!doc) return Status::InvalidRequest(where + "cannot read '" + path + "'");
    std::ostringstream text;
    text << doc.rdbuf();
    c.text = text.str();
    out.push_back(std::move(c));
  }
  return out;
}

Result<int64_t> load_contexts(ngsild::jsonld::ContextCache& contexts,
                              const std::string& context_dir) {
  TSUNAGU_RETURN_IF_ERROR(contexts.load_hosted());
  if (context_dir.empty()) return 0;
  auto preloaded = read_context_dir(context_dir);
  if (!preloaded.ok()) return preloaded.status();
  for (const auto& c : *preloaded) {
    Status st = contexts.preload(c.url, c.text);
    if (!st.ok()) return Status(st.kind(), "--context-dir: " + c.file + ": " + st.detail());
  }
  return static_cast<int64_t>(preloaded->size());
}

}  // namespace tsunagu::app
