#include "http/http1_client.hpp"

#include <pthread.h>
#include <strings.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <charconv>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "common/metrics.hpp"
#include "common/time.hpp"

namespace tsunagu::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

metrics::Counter& outcomes(const char* result) {
  static auto& family = metrics::registry().counter(
      "tsunagu_http1_client_requests_total",
      "Outbound plain-HTTP requests (notifications to http:// receivers), by result: ok (2xx), "
      "status (another status), failed (no response: refused, timeout...), refused_full (queue "
      "full, never sent), resent (sent again after their connection closed unanswered)",
      {"result"});
  return family.with({result});
}

// The parts of an http:// URL a request needs.
struct Target {
  std::string host;       // without the brackets of an IPv6 literal
  std::string port;       // "80" when the URL names none
  std::string authority;  // for the Host header, as the URL has it
  std::string path;       // path and query, "/" when empty
};

bool parse_url(const std::string& url, Target& t, std::string& error) {
  if (url.size() < 7 || strncasecmp(url.c_str(), "http://", 7) != 0) {
    error = "not an http:// URL: " + url;
    return false;
  }
  std::string_view rest(url);
  rest.remove_prefix(7);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view path = end == std::string_view::npos ? "" : rest.substr(end);
  path = path.substr(0, path.find('#'));
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    error = "no host, or user information, in " + url;
    return false;
  }
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unclosed IPv6 address in " + url;
      return false;
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        error = "bad authority in " + url;
        return false;
      }
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  unsigned number = 80;
  if (!port.empty()) {
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc() || p != port.data() + port.size() || number == 0 || number > 65535) {
      error = "bad port in " + url;
      return false;
    }
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      error = "a space or control character in " + url;
      return false;
    }
  }
  t.host.assign(host);
  t.port = std::to_string(number);
  t.authority.assign(authority);
  t.path = path.empty() ? "/" : path.front() == '?' ? "/" + std::string(path) : std::string(path);
  return true;
}

bool has_line_break(const std::string& s) {
  return s.find_first_of("\r\n") != std::string::npos;
}

// One response's status, framing and body (cut off at a bound, the rest read and dropped).
class ResponseParser : public bhttp::basic_parser<false> {
 public:
  explicit ResponseParser(size_t max_body) : max_body_(max_body) {
    eager(true);
    // The bound cuts the body off; it does not fail the response. (Not boost::none: Beast 1.74
    // compares a Content-Length with the limit as an optional, and every length exceeds none.)
    body_limit(UINT64_MAX);
  }
  int status = 0;
  std::string body;

 private:
  void on_request_impl(bhttp::verb, boost::beast::string_view, boost::beast::string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, boost::beast::string_view, int, error_code&) override {
    status = code;
  }
  void on_field_impl(bhttp::field, boost::beast::string_view, boost::beast::string_view,
                     error_code&) override {}
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<uint64_t>&, error_code&) override {}
  size_t on_body_impl(boost::beast::string_view data, error_code&) override {
    keep(data);
    return data.size();
  }
  void on_chunk_header_impl(uint64_t, boost::beast::string_view, error_code&) override {}
  size_t on_chunk_body_impl(uint64_t, boost::beast::string_view data, error_code&) override {
    keep(data);
    return data.size();
  }
  void on_finish_impl(error_code&) override {}

  void keep(boost::beast::string_view data) {
    size_t room = max_body_ - std::min(max_body_, body.size());
    body.append(data.data(), std::min(room, data.size()));
  }
  size_t max_body_;
};

}  // namespace

struct Http1Client::State {
  struct Pending {
    Target target;
    std::string host_key;  // host:port, lower case
    std::string stream;
    std::string wire;  // the request as written
    bool head_only = false;
    Done done;
    int timeout_ms = 0;
    int64_t start_us = 0;
    int64_t deadline_us = 0;
    Outcome out;
    bool resent = false;  // sent again once already after a connection that answered nothing
  };
  using PendingPtr = std::unique_ptr<Pending>;

  struct Conn {
    explicit Conn(asio::io_context& io) : socket(io), timer(io), resolver(io) {}
    tcp::socket socket;
    asio::steady_timer timer;
    tcp::resolver resolver;
    std::string host_key;
    bool open = false;  // connected
    bool dead = false;
    std::deque<PendingPtr> sent;  // in the order written; the front one is being answered
    std::string out;              // bytes not yet handed to a write
    std::string writing;          // bytes of the write under way
    bool write_busy = false;
    static constexpr size_t kReadBytes = 16384;
    std::unique_ptr<char[]> read_buf{new char[kReadBytes]};
    std::string in;  // bytes read and not yet parsed
    std::optional<ResponseParser> parser;
    bool answer_started = false;  // bytes of the front request's answer arrived
    uint64_t answered = 0;        // responses completed on this connection
    int64_t connect_deadline_us = 0;
    int64_t idle_since_us = 0;
    int64_t armed_us = 0;  // when the timer is set to expire; 0: not set
  };
  using ConnPtr = std::shared_ptr<Conn>;

  explicit State(Options o) : options(o) {}

  // --- the caller's side -------------------------------------------------------------------

  bool submit(Request r, Done done) {
    auto p = std::make_unique<Pending>();
    p->done = std::move(done);
    p->timeout_ms = r.timeout_ms;
    p->stream = std::move(r.stream);
    p->head_only = r.method == "HEAD";
    std::string error;
    if (parse_url(r.url, p->target, error)) {
      for (const auto& h : r.headers) {
        if (has_line_break(h.name) || has_line_break(h.value) || h.name.empty())
          error = "header '" + h.name + "' cannot be sent";
      }
      if (has_line_break(r.method) || r.method.find(' ') != std::string::npos)
        error = "bad method '" + r.method + "'";
    }
    if (error.empty()) {
      p->host_key = p->target.host + ":" + p->target.port;
      for (char& c : p->host_key)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      serialize(r, *p);
    } else {
      p->out.error = std::move(error);
    }
    bool post = false;
    {
      std::lock_guard lock(mu);
      if (stopping || queue.size() >= options.max_queued) {
        outcomes("refused_full").inc();
        return false;
      }
      queue.push_back(std::move(p));
      queued.store(queue.size(), std::memory_order_relaxed);
      post = !drain_posted;
      drain_posted = true;
    }
    if (post) asio::post(io, [this] { drain(); });
    return true;
  }

  // The request's bytes, written on the caller's thread so the client's does not.
  static void serialize(const Request& r, Pending& p) {
    std::string& w = p.wire;
    w.reserve(r.body.size() + 128 + r.headers.size() * 48);
    w += r.method;
    w += ' ';
    w += p.target.path;
    w += " HTTP/1.1\r\nHost: ";
    w += p.target.authority;
    w += "\r\n";
    bool has_body = !r.body.empty() || (r.method != "GET" && r.method != "HEAD");
    if (has_body) {
      w += "Content-Length: ";
      w += std::to_string(r.body.size());
      w += "\r\n";
    }
    for (const auto& h : r.headers) {
      // This client frames the message and names the host itself.
      if (strcasecmp(h.name.c_str(), "host") == 0 ||
          strcasecmp(h.name.c_str(), "content-length") == 0 ||
          strcasecmp(h.name.c_str(), "transfer-encoding") == 0 ||
          strcasecmp(h.name.c_str(), "connection") == 0)
        continue;
      w += h.name;
      w += ": ";
      w += h.value;
      w += "\r\n";
    }
    w += "\r\n";
    if (has_body) w += r.body;
  }

  // --- the client's thread -----------------------------------------------------------------

  // Moves queued requests onto connections while fewer than max_in_flight are there.
  void drain() {
    std::deque<PendingPtr> ready;
    {
      std::lock_guard lock(mu);
      drain_posted = false;
      if (io_stopped) return;
      while (!queue.empty() && running + ready.size() < options.max_in_flight) {
        ready.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      queued.store(queue.size(), std::memory_order_relaxed);
    }
    for (auto& p : ready) {
      ++running;
      in_flight.store(running, std::memory_order_relaxed);
      p->start_us = steady_us();
      p->deadline_us = p->start_us + int64_t{p->timeout_ms} * 1000;
      if (!p->out.error.empty()) {
        finish(std::move(p));
        continue;
      }
      assign(std::move(p));
    }
  }

  // Puts `p` on a connection: its stream's, an idle one to its host, or a new one.
  void assign(PendingPtr p) {
    Conn* c = nullptr;
    if (!p->stream.empty()) {
      auto it = streams.find(p->stream);
      if (it != streams.end()) {
        if (!it->second.first->dead && it->second.first->host_key == p->host_key) {
          c = it->second.first;
        } else {
          // The stream moved to another receiver: it starts over on another connection.
          streams.erase(it);
        }
      }
    }
    if (c == nullptr) {
      auto idle_it = idle.find(p->host_key);
      if (idle_it != idle.end() && !idle_it->second.empty()) {
        c = idle_it->second.back();
        idle_it->second.pop_back();
      }
    }
    if (c == nullptr) c = open_conn(*p);
    if (!p->stream.empty()) {
      auto& entry = streams[p->stream];
      entry.first = c;
      ++entry.second;
    }
    c->out += p->wire;
    c->sent.push_back(std::move(p));
    if (c->open) write(conns.at(c));
    arm(conns.at(c));
  }

  Conn* open_conn(const Pending& p) {
    if (conns.size() >= options.max_in_flight) close_one_idle();
    auto c = std::make_shared<Conn>(io);
    c->host_key = p.host_key;
    c->connect_deadline_us = steady_us() + int64_t{options.connect_timeout_ms} * 1000;
    conns.emplace(c.get(), c);
    connects.fetch_add(1, std::memory_order_relaxed);
    error_code ec;
    auto address = asio::ip::make_address(p.target.host, ec);
    if (!ec) {
      uint16_t port = static_cast<uint16_t>(std::stoi(p.target.port));
      c->socket.async_connect(tcp::endpoint(address, port),
                              [this, c](const error_code& e) { on_connect(c, e); });
    } else {
      // The resolver works on a thread of its own: a slow DNS server holds no one else.
      c->resolver.async_resolve(
          p.target.host, p.target.port,
          [this, c](const error_code& e, const tcp::resolver::results_type& results) {
            if (c->dead) return;
            if (e) return fail_conn(c, "cannot resolve " + c->host_key + ": " + e.message());
            asio::async_connect(
                c->socket, results,
                [this, c](const error_code& e2, const tcp::endpoint&) { on_connect(c, e2); });
          });
    }
    return c.get();
  }

  void close_one_idle() {
    for (auto& [key, list] : idle) {
      if (list.empty()) continue;
      ConnPtr c = conns.at(list.front());
      close_conn(c);
      return;
    }
  }

  void on_connect(const ConnPtr& c, const error_code& e) {
    if (c->dead) return;
    if (e) return fail_conn(c, "cannot connect to " + c->host_key + ": " + e.message());
    c->open = true;
    error_code ignored;
    c->socket.set_option(tcp::no_delay(true), ignored);
    read(c);
    write(c);
    arm(c);
  }

  // Every request on `c` fails with `error`: the connection could not be made.
  void fail_conn(const ConnPtr& c, const std::string& error) {
    std::deque<PendingPtr> failed;
    failed.swap(c->sent);
    close_conn(c);
    for (auto& p : failed) {
      p->out.error = error;
      finish(std::move(p));
    }
  }

  void write(const ConnPtr& c) {
    if (c->write_busy || c->out.empty() || c->dead) return;
    c->write_busy = true;
    c->writing.swap(c->out);
    c->out.clear();
    asio::async_write(c->socket, asio::buffer(c->writing), [this, c](const error_code& e, size_t) {
      c->write_busy = false;
      c->writing.clear();
      if (c->dead) return;
      if (e) return lost(c, "writing to " + c->host_key + ": " + e.message());
      write(c);
    });
  }

  void read(const ConnPtr& c) {
    c->socket.async_read_some(
        asio::buffer(c->read_buf.get(), Conn::kReadBytes),
        [this, c](const error_code& e, size_t n) {
          c->in.append(c->read_buf.get(), n);
          if (c->dead) return;
          if (e) {
            if (e == asio::error::eof && c->parser && c->parser->need_eof()) {
              error_code ignored;
              c->parser->put_eof(ignored);
              if (c->parser->is_done()) answered(c, false);
            }
            if (!c->dead)
              lost(c, e == asio::error::eof ? "the receiver closed the connection"
                                            : "reading from " + c->host_key + ": " + e.message());
            return;
          }
          parse(c);
          if (!c->dead) read(c);
        });
  }

  // Feeds what was read to the parser of the front request's answer.
  void parse(const ConnPtr& c) {
    size_t used = 0;
    while (used < c->in.size() && !c->dead) {
      if (c->sent.empty()) {
        return close_conn(c);  // an answer nobody asked for: the connection is out of step
      }
      c->answer_started = true;
      if (!c->parser) {
        c->parser.emplace(options.max_response_bytes);
        if (c->sent.front()->head_only) c->parser->skip(true);
      }
      error_code ec;
      size_t n = c->parser->put(asio::buffer(c->in.data() + used, c->in.size() - used), ec);
      used += n;
      if (ec == bhttp::error::need_more) break;
      if (ec) {
        lost(c, "a malformed answer from " + c->host_key + ": " + ec.message());
        return;
      }
      if (c->parser->is_done()) {
        answered(c, c->parser->keep_alive());
      } else if (n == 0) {
        break;
      }
    }
    c->in.erase(0, used);
  }

  // The front request's answer is complete.
  void answered(const ConnPtr& c, bool keep_alive) {
    int status = c->parser->status;
    if (status >= 100 && status < 200) {  // interim: the final answer follows
      c->parser.reset();
      return;
    }
    PendingPtr p = std::move(c->sent.front());
    c->sent.pop_front();
    p->out.status = status;
    p->out.body = std::move(c->parser->body);
    c->parser.reset();
    c->answer_started = false;
    ++c->answered;
    if (!keep_alive) {
      finish(std::move(p));
      lost(c, "the receiver closed the connection");
      return;
    }
    finish(std::move(p));
    if (!c->dead) {
      if (c->sent.empty()) make_idle(c);
      arm(c);
    }
  }

  void make_idle(const ConnPtr& c) {
    c->idle_since_us = steady_us();
    idle[c->host_key].push_back(c.get());
  }

  // `c` closed or broke with requests on it, none of them with its answer begun. They are sent
  // again on another connection, in order, when that can succeed: the connection answered
  // some (the receiver closes after so many; answered `Connection: close`; HTTP/1.0), or it
  // answered none but its first request was not sent again before (a kept-alive connection
  // the receiver closed as the request arrived, a connection reset as it was accepted).
  // Otherwise, or when an answer had begun, they all fail, the later ones too, so that none
  // overtakes the first: Delivery retries them in order.
  void lost(const ConnPtr& c, const std::string& why) {
    std::deque<PendingPtr> left;
    left.swap(c->sent);
    bool resend = !c->answer_started && !left.empty() && (c->answered > 0 || !left.front()->resent);
    close_conn(c);
    if (!resend) {
      for (auto& p : left) {
        p->out.error = why;
        finish(std::move(p));
      }
      return;
    }
    if (c->answered == 0) left.front()->resent = true;
    outcomes("resent").inc(left.size());
    reassign(left);
  }

  // Puts the requests of a closed connection on others, in their order. Their streams let go
  // of the closed connection first, so that each stream's requests stay together.
  void reassign(std::deque<PendingPtr>& again) {
    for (auto& p : again)
      release_stream(*p);
    for (auto& p : again)
      assign(std::move(p));
  }

  void release_stream(const Pending& p) {
    if (p.stream.empty()) return;
    auto it = streams.find(p.stream);
    if (it != streams.end() && --it->second.second == 0) streams.erase(it);
  }

  void close_conn(const ConnPtr& c) {
    if (c->dead) return;
    c->dead = true;
    error_code ignored;
    c->socket.close(ignored);
    c->timer.cancel();
    c->resolver.cancel();
    auto it = idle.find(c->host_key);
    if (it != idle.end()) {
      auto& list = it->second;
      list.erase(std::remove(list.begin(), list.end(), c.get()), list.end());
      if (list.empty()) idle.erase(it);
    }
    conns.erase(c.get());
  }

  // Sets `c`'s timer to its next deadline: its earliest request's, the connect timeout's, or
  // the idle timeout's.
  void arm(const ConnPtr& c) {
    if (c->dead) return;
    int64_t due = INT64_MAX;
    for (const auto& p : c->sent)
      due = std::min(due, p->deadline_us);
    if (!c->open) due = std::min(due, c->connect_deadline_us);
    if (c->sent.empty()) due = c->idle_since_us + int64_t{options.idle_timeout_ms} * 1000;
    // A later deadline leaves the timer as it is: it fires early and is set again then. Each
    // change would cost a cancelled wait, and requests come and go far more often than they
    // time out.
    if (c->armed_us != 0 && due >= c->armed_us) return;
    c->armed_us = due;
    c->timer.expires_at(asio::steady_timer::clock_type::now() +
                        std::chrono::microseconds(due - steady_us()));
    c->timer.async_wait([this, c, due](const error_code& e) {
      if (e || c->dead || c->armed_us != due) return;
      c->armed_us = 0;
      on_timer(c);
    });
  }

  void on_timer(const ConnPtr& c) {
    int64_t now = steady_us();
    if (c->sent.empty()) {
      if (now >= c->idle_since_us + int64_t{options.idle_timeout_ms} * 1000) return close_conn(c);
      return arm(c);
    }
    if (!c->open && now >= c->connect_deadline_us)
      return fail_conn(c, "connection to " + c->host_key + " timed out");
    // A request past its deadline fails. The connection cannot skip its answer, so it is
    // closed; the requests behind it fail too (none may overtake it), and those before it go
    // again on another connection.
    size_t first_expired = c->sent.size();
    for (size_t i = 0; i < c->sent.size() && first_expired == c->sent.size(); ++i) {
      if (now >= c->sent[i]->deadline_us) first_expired = i;
    }
    if (first_expired == c->sent.size()) return arm(c);
    std::deque<PendingPtr> before, failed;
    for (size_t i = 0; i < c->sent.size(); ++i)
      (i < first_expired ? before : failed).push_back(std::move(c->sent[i]));
    c->sent.clear();
    close_conn(c);
    for (auto& p : failed) {
      p->out.error = now >= p->deadline_us
                         ? "timed out after " + std::to_string(p->timeout_ms) + " ms"
                         : "not answered: an earlier request on its connection timed out";
      finish(std::move(p));
    }
    reassign(before);
  }

  // `p` leaves the client: its callback learns how it ended.
  void finish(PendingPtr p) {
    release_stream(*p);
    --running;
    in_flight.store(running, std::memory_order_relaxed);
    p->out.micros = steady_us() - p->start_us;
    outcomes(!p->out.error.empty() ? "failed" : p->out.ok() ? "ok" : "status").inc();
    p->done(std::move(p->out));
    // Later, not now: a connection's requests being sent again must take their places first.
    if (queued.load(std::memory_order_relaxed) > 0) post_drain();
  }

  void post_drain() {
    {
      std::lock_guard lock(mu);
      if (drain_posted) return;
      drain_posted = true;
    }
    asio::post(io, [this] { drain(); });
  }

  // Ends everything with "client stopped"; the thread's run() returns when the cancelled
  // operations have.
  void shut() {
    std::deque<PendingPtr> left;
    {
      std::lock_guard lock(mu);
      io_stopped = true;
      left.swap(queue);
      queued.store(0, std::memory_order_relaxed);
    }
    std::vector<ConnPtr> all;
    for (auto& [raw, c] : conns)
      all.push_back(c);
    for (auto& c : all) {
      for (auto& p : c->sent)
        left.push_back(std::move(p));
      c->sent.clear();
      close_conn(c);
    }
    for (auto& p : left) {
      p->out = Outcome{};
      p->out.error = "client stopped";
      finish(std::move(p));
    }
    work.reset();
  }

  Options options;
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(io)};
  std::mutex mu;
  std::deque<PendingPtr> queue;  // under mu
  bool drain_posted = false;     // under mu
  bool stopping = false;         // under mu: submit() refuses
  bool io_stopped = false;       // under mu: the thread ended everything
  std::atomic<size_t> queued{0};
  std::atomic<size_t> in_flight{0};
  std::atomic<uint64_t> connects{0};
  // The client's thread's only:
  size_t running = 0;  // requests taken from the queue and not finished
  std::unordered_map<Conn*, ConnPtr> conns;
  std::unordered_map<std::string, std::vector<Conn*>> idle;  // by host_key, most recent last
  std::unordered_map<std::string, std::pair<Conn*, size_t>> streams;  // connection, requests
  std::thread thread;
};

Http1Client::Http1Client(Options options) : s_(std::make_unique<State>(options)) {
  s_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "tsunagu-sender");  // as top -H and perf show it
    s_->io.run();
  });
}

Http1Client::~Http1Client() {
  stop();
}

bool Http1Client::submit(Request r, Done done) {
  return s_->submit(std::move(r), std::move(done));
}

void Http1Client::stop() {
  {
    std::lock_guard lock(s_->mu);
    if (s_->stopping) return;
    s_->stopping = true;
  }
  asio::post(s_->io, [s = s_.get()] { s->shut(); });
  if (s_->thread.joinable()) s_->thread.join();
}

size_t Http1Client::queued() const {
  return s_->queued.load(std::memory_order_relaxed);
}

size_t Http1Client::in_flight() const {
  return s_->in_flight.load(std::memory_order_relaxed);
}

uint64_t Http1Client::connects() const {
  return s_->connects.load(std::memory_order_relaxed);
}

}  // namespace tsunagu::http
