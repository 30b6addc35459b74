#include "app/admin_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/api_key.hpp"
#include "common/log.hpp"

namespace tsunagu::app {
namespace {

Status unusable(const std::string& path, const std::string& why) {
  return Status::InvalidRequest("--admin-key-file '" + path + "': " + why);
}

// O_EXCL: two servers started at once on one file must not both write a secret.
Result<AdminKey> create(const std::string& path) {
  auto secret = auth::new_secret();
  if (!secret.ok()) return secret.status();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return unusable(path, std::string("cannot be created: ") + std::strerror(errno));
  const std::string text = *secret + "\n";
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return unusable(path, "cannot be written");
  }
  return AdminKey{auth::secret_hash(*secret), true};
}

}  // namespace

Result<AdminKey> read_or_create_admin_key(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno != ENOENT) return unusable(path, std::strerror(errno));
    return create(path);
  }
  std::ifstream in(path);
  if (!in) return unusable(path, "cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  const char* blanks = " \t\r\n";
  secret.erase(0, secret.find_first_not_of(blanks));
  secret.erase(secret.find_last_not_of(blanks) + 1);
  // The administrator's secret opens every tenant's keys: one a person chose must at least not
  // be short (a generated one has 47 characters).
  constexpr size_t kMinimumLength = 20;
  if (secret.size() < kMinimumLength)
    return unusable(path, "holds a secret shorter than 20 characters");
  // A secret others can read is anyone's: the server still starts (the operator may have a
  // reason), but says so.
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    log::warn("admin_key_file_readable_by_others", {{"path", path}});
  return AdminKey{auth::secret_hash(secret), false};
}

}  // namespace tsunagu::app
