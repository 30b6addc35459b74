// Durable replacement of one small file (write, fsync, rename, fsync the folder): the pattern
// POSIX gives for atomic updates, since rename() replaces a name atomically and the folder's
// fsync makes the new name survive a power loss.
#include "store/document_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tsunagu::store {
namespace {

constexpr std::string_view kTempPrefix = ".tmp-";

Status io_error(const std::string& what, const std::string& path) {
  return Status::Internal(what + " '" + path + "': " + std::strerror(errno));
}

Status sync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : io_error("cannot fsync", path);
}

std::string parent_of(const std::string& dir) {
  size_t slash = dir.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : dir.substr(0, slash);
}

}  // namespace

Status sync_dir(const std::string& dir) {
  return sync_path(dir, O_RDONLY | O_DIRECTORY);
}

DocumentFiles::DocumentFiles(std::string dir, std::string suffix)
    : dir_(std::move(dir)), suffix_(std::move(suffix)) {}

Status DocumentFiles::check_name(const std::string& name) const {
  bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  return ok ? Status::Ok() : Status::Internal("'" + name + "' is not a document name");
}

Result<std::vector<DocumentFiles::Document>> DocumentFiles::load() const {
  std::vector<Document> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return io_error("cannot read the folder", dir_);
  }
  std::vector<std::string> names, leftovers;
  while (dirent* e = ::readdir(d)) {
    std::string file = e->d_name;
    if (file.rfind(kTempPrefix, 0) == 0) {
      leftovers.push_back(file);
    } else if (file.size() > suffix_.size() &&
               file.compare(file.size() - suffix_.size(), suffix_.size(), suffix_) == 0) {
      names.push_back(file.substr(0, file.size() - suffix_.size()));
    }
  }
  ::closedir(d);
  for (const auto& file : leftovers)
    ::unlink((dir_ + "/" + file).c_str());
  std::sort(names.begin(), names.end());
  for (auto& name : names) {
    std::string p = path(name);
    std::ifstream in(p, std::ios::binary);
    struct stat st {};
    if (!in || ::stat(p.c_str(), &st) != 0) return io_error("cannot read", p);
    std::ostringstream text;
    text << in.rdbuf();
    int64_t time_us = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
    out.push_back({std::move(name), text.str(), time_us});
  }
  return out;
}

Status DocumentFiles::put(const std::string& name, std::string_view text, int64_t time_us) const {
  TSUNAGU_RETURN_IF_ERROR(check_name(name));
  if (::mkdir(dir_.c_str(), 0755) == 0) {
    TSUNAGU_RETURN_IF_ERROR(sync_dir(parent_of(dir_)));
  } else if (errno != EEXIST) {
    return io_error("cannot make the folder", dir_);
  }
  std::string temp = dir_ + "/" + std::string(kTempPrefix) + name;
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", temp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += static_cast<size_t>(n);
  }
  timespec times[2]{};
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = time_us / 1000000;
  times[1].tv_nsec = (time_us % 1000000) * 1000;
  bool ok = done == text.size() && ::futimens(fd, times) == 0 && ::fsync(fd) == 0;
  Status st = ok ? Status::Ok() : io_error("cannot write", temp);
  ::close(fd);
  if (st.ok() && ::rename(temp.c_str(), path(name).c_str()) != 0)
    st = io_error("cannot rename", temp);
  if (!st.ok()) {
    ::unlink(temp.c_str());
    return st;
  }
  return sync_dir(dir_);
}

Status DocumentFiles::remove(const std::string& name) const {
  TSUNAGU_RETURN_IF_ERROR(check_name(name));
  std::string p = path(name);
  if (::unlink(p.c_str()) != 0) {
    return errno == ENOENT ? Status::Ok() : io_error("cannot remove", p);
  }
  return sync_dir(dir_);
}

}  // namespace tsunagu::store
