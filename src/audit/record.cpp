#include "audit/record.hpp"

#include "common/json.hpp"
#include "common/time.hpp"
#include "common/utf8.hpp"

namespace tsunagu::audit {
namespace {

// Request targets and header-borne names may hold bytes that are not UTF-8; a line must stay
// JSON that reads back, so those are replaced (U+FFFD) rather than written raw.
void string_member(JsonWriter& w, std::string_view name, std::string_view value) {
  w.key(name);
  if (valid_utf8(value)) {
    w.string(value);
  } else {
    w.string(to_valid_utf8(value));
  }
}

bool read_string(const JsonValue& doc, const char* name, std::string& out) {
  auto it = doc.FindMember(name);
  if (it == doc.MemberEnd() || !it->value.IsString()) return false;
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

// "2026-12-07T10:11:12.345678Z": always six digits of fraction, so that the times of a log
// compare as text in the order they compare as times.
std::string_view write_time(int64_t us, char (&buf)[kDatetimeChars]) {
  int64_t fraction = us % 1'000'000;
  if (fraction < 0) fraction += 1'000'000;
  size_t n = write_datetime(us - fraction, buf);  // whole seconds: "...:12Z"
  if (n == 0 || n + 7 > kDatetimeChars) return {buf, n};
  buf[n - 1] = '.';
  for (int i = 6; i >= 1; --i, fraction /= 10)
    buf[n - 1 + i] = static_cast<char>('0' + fraction % 10);
  buf[n + 6] = 'Z';
  return {buf, n + 7};
}

}  // namespace

void write_record(const Record& r, JsonWriter& w) {
  w.begin_object();
  w.key("time");
  char buf[kDatetimeChars];
  w.string(write_time(r.time, buf));
  string_member(w, "tenant", r.tenant);
  string_member(w, "subject", r.subject);
  string_member(w, "operation", r.operation);
  string_member(w, "method", r.method);
  string_member(w, "path", r.path);
  w.key("status");
  w.number(static_cast<int64_t>(r.status));
  string_member(w, "remote", r.remote);
  if (!r.role.empty()) string_member(w, "role", r.role);
  w.end_object();
}

void append_line(const Record& r, std::string& out) {
  JsonWriter w(out);
  write_record(r, w);
  out += '\n';
}

Result<Record> parse_line(std::string_view line) {
  JsonDoc doc;
  TSUNAGU_RETURN_IF_ERROR(parse_json(line, doc));
  if (!doc.IsObject()) return Status::InvalidRequest("not an audit record: not an object");
  Record r;
  std::string time;
  auto status = doc.FindMember("status");
  if (!read_string(doc, "time", time) || !read_string(doc, "tenant", r.tenant) ||
      !read_string(doc, "subject", r.subject) || !read_string(doc, "operation", r.operation) ||
      !read_string(doc, "method", r.method) || !read_string(doc, "path", r.path) ||
      !read_string(doc, "remote", r.remote) || status == doc.MemberEnd() ||
      !status->value.IsInt()) {
    return Status::InvalidRequest("not an audit record: a member is missing or of another type");
  }
  r.status = status->value.GetInt();
  read_string(doc, "role", r.role);  // absent: no role (and in lines written before roles)
  auto at = parse_datetime(time);
  if (!at) return Status::InvalidRequest("not an audit record: time '" + time + "'");
  r.time = *at;
  return r;
}

std::string day_of(int64_t us) {
  return format_datetime(us).substr(0, 10);
}

bool Filter::matches(const Record& r) const {
  if (r.time < since || r.time >= until) return false;
  if (tenant && r.tenant != *tenant) return false;
  if (subject && r.subject != *subject) return false;
  if (operation && r.operation != *operation) return false;
  if (status != 0 && (status_class ? r.status / 100 != status : r.status != status)) return false;
  return true;
}

}  // namespace tsunagu::audit
