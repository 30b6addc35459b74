#include "common/metrics.hpp"

#include <charconv>

namespace tsunagu::metrics {
namespace {

void append_number(std::string& out, double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const char* extra_name = nullptr,
                   const std::string& extra_value = {}) {
  if (names.empty() && extra_name == nullptr) return;
  out.push_back('{');
  bool first = true;
  auto one = [&](const std::string& n, const std::string& v) {
    if (!first) out.push_back(',');
    first = false;
    out += n;
    out += "=\"";
    for (char c : v) {
      if (c == '\\' || c == '"') out.push_back('\\');
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out.push_back(c);
    }
    out.push_back('"');
  };
  for (size_t i = 0; i < names.size() && i < values.size(); ++i)
    one(names[i], values[i]);
  if (extra_name != nullptr) one(extra_name, extra_value);
  out.push_back('}');
}

void header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " ";
  for (char c : help) {  // text format 0.0.4: escape backslash and newline in HELP
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  out += "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Histogram::observe(double seconds) {
  if (!(seconds >= 0)) seconds = 0;  // clock steps and NaN must not wrap the sum
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i])
    ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

// A name registered again returns its existing family: one HELP/TYPE block per metric name.
Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  for (auto& f : counters_) {
    if (f.name_ == name) return f;
  }
  return counters_.emplace_back(std::move(name), std::move(help), std::move(labels));
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  for (auto& f : histograms_) {
    if (f.name_ == name) return f;
  }
  return histograms_.emplace_back(std::move(name), std::move(help), std::move(labels));
}

void Registry::gauge(std::string name, std::string help, std::vector<std::string> labels,
                     GaugeReader read) {
  std::lock_guard lock(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(labels), std::move(read)});
}

std::string Registry::render() {
  std::lock_guard lock(mu_);
  std::string out;
  for (auto& f : counters_) {
    header(out, f.name_, f.help_, "counter");
    std::lock_guard l(f.mu_);
    for (auto& [values, c] : f.index_) {
      out += f.name_;
      append_labels(out, f.labels_, values);
      out.push_back(' ');
      out += std::to_string(c->value());
      out.push_back('\n');
    }
  }
  for (auto& f : histograms_) {
    header(out, f.name_, f.help_, "histogram");
    std::lock_guard l(f.mu_);
    for (auto& [values, h] : f.index_) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= Histogram::kBounds.size(); ++i) {
        cumulative += h->buckets_[i].load(std::memory_order_relaxed);
        std::string le;
        if (i < Histogram::kBounds.size())
          append_number(le, Histogram::kBounds[i]);
        else
          le = "+Inf";
        out += f.name_ + "_bucket";
        append_labels(out, f.labels_, values, "le", le);
        out += " " + std::to_string(cumulative) + "\n";
      }
      out += f.name_ + "_sum";
      append_labels(out, f.labels_, values);
      out.push_back(' ');
      append_number(out, static_cast<double>(h->sum_ns_.load(std::memory_order_relaxed)) / 1e9);
      out += "\n" + f.name_ + "_count";
      append_labels(out, f.labels_, values);
      out += " " + std::to_string(h->count()) + "\n";
    }
  }
  for (auto& g : gauges_) {
    header(out, g.name, g.help, "gauge");
    std::vector<std::pair<std::vector<std::string>, double>> rows;
    g.read(rows);
    for (auto& [values, v] : rows) {
      out += g.name;
      append_labels(out, g.labels, values);
      out.push_back(' ');
      append_number(out, v);
      out.push_back('\n');
    }
  }
  return out;
}

Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace tsunagu::metrics
