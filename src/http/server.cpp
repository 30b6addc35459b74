// The HTTP/1.1 listener behind http::Server: one io_context and one SO_REUSEPORT acceptor per
// thread, so the kernel spreads connections and no lock is shared between loops. A Session reads
// one request at a time, turns it into an http::Request (request_parser.hpp), and writes whatever
// the Reply receives. Beast types stay in this file and request_parser.cpp.
#include "http/server.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "http/problem.hpp"
#include "http/request_parser.hpp"

namespace tsunagu::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// After an error response the client may still be sending the rejected body; closing with unread
// input makes the kernel send RST, which can destroy the response before the client reads it.
// So we half-close and discard input for at most this long.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
// Beast reads at most the read buffer's free space (at least 512 bytes, at most 64 KiB) per
// recv, and a flat_buffer that is consumed as it is parsed never grows past its first size, so
// without these a 1.1 KB entity took three recvs and a 250 KB batch about 220. A connection keeps
// kReadBuffer, enough for a typical request in one recv; a request whose body does not fit gets
// room for up to kBodyReadBuffer more, given back when the next request begins.
constexpr size_t kReadBuffer = 4096;
constexpr size_t kBodyReadBuffer = 256 * 1024;

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

// Handler-supplied headers must not break the framing we own or smuggle in extra lines.
bool header_allowed(const Header& h) {
  if (h.name.empty()) return false;
  if (beast::iequals(h.name, "content-length") || beast::iequals(h.name, "transfer-encoding")) {
    return false;
  }
  auto bad = [](char c) { return c == '\r' || c == '\n' || c == '\0'; };
  return std::none_of(h.name.begin(), h.name.end(), [&](char c) { return bad(c) || c == ':'; }) &&
         std::none_of(h.value.begin(), h.value.end(), bad);
}

// A TLS server context from PEM files: the certificate chain (the server's certificate first)
// and its private key, which OpenSSL checks against the certificate. TLS 1.2 and 1.3 only.
// InternalError saying which file is wrong and why.
Result<std::shared_ptr<asio::ssl::context>> load_tls_context(const std::string& cert_file,
                                                             const std::string& key_file) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  beast::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                       ec);
  if (!ec) context->use_certificate_chain_file(cert_file, ec);
  if (ec) return Status::Internal("TLS certificate " + cert_file + ": " + ec.message());
  context->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) {
    return Status::Internal("TLS private key " + key_file + " (of certificate " + cert_file +
                            "): " + ec.message());
  }
  return context;
}

// State shared by the server and its sessions; sessions cannot name the private Server::Impl.
struct Core {
  ServerOptions options;
  Handler handler;
  std::atomic<bool> stopping{false};
  // Requests whose header has been read and whose response is not yet written. Counting from the
  // header (not from the handler call) lets a body that is still arriving finish during stop().
  std::atomic<int64_t> in_flight{0};
  std::mutex mu;
  std::condition_variable drained;

  // HTTPS: the TLS context new connections get, replaced whole by a reload (a connection keeps
  // the one it started with). Null: plain HTTP.
  std::mutex tls_mu;
  std::shared_ptr<asio::ssl::context> tls;
  std::shared_ptr<asio::ssl::context> tls_context() {
    std::lock_guard lock(tls_mu);
    return tls;
  }

  void request_ended() {
    // Both sides are seq_cst, so either stop() sees the zero or we see `stopping` and notify.
    if (in_flight.fetch_sub(1) == 1 && stopping.load()) {
      std::lock_guard<std::mutex> lock(mu);
      drained.notify_all();
    }
  }

  // Open connections, in all and per client address (any thread: sessions end on whichever
  // thread drops them last). The limit in all is options.max_connections, lowered at start to
  // what the descriptor limit allows.
  size_t connection_limit = 0;
  std::mutex connections_mu;
  size_t connections = 0;
  std::unordered_map<std::string, size_t> per_client;

  // Takes a connection slot for `client`, or says why there is none.
  Status admit(const std::string& client) {
    std::lock_guard lock(connections_mu);
    if (connections >= connection_limit) {
      return Status(ErrorKind::kServiceUnavailable,
                    "the server has " + std::to_string(connections) +
                        " connections open, its limit; try again shortly");
    }
    size_t& mine = per_client[client];
    if (mine >= options.max_connections_per_client) {
      return Status(ErrorKind::kServiceUnavailable,
                    "this client has " + std::to_string(mine) +
                        " connections open, the limit for one address; reuse them");
    }
    ++mine;
    ++connections;
    return Status::Ok();
  }
  void release(const std::string& client) {
    std::lock_guard lock(connections_mu);
    --connections;
    auto it = per_client.find(client);
    if (it != per_client.end() && --it->second == 0) per_client.erase(it);
  }
};

// The address of the peer without its port: connections are counted per address.
std::string client_address(const tcp::socket& socket) {
  beast::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string();
}

// Answers a connection that may not be admitted with 503 and closes it, without a session: a
// best-effort write of what fits in the socket buffer at once, which never blocks the loop.
void refuse(tcp::socket& socket, const Status& why) {
  static auto& refused = metrics::registry().counter(
      "tsunagu_http_connections_refused_total",
      "Connections answered 503 and closed at once for the connection limits", {});
  refused.with({}).inc();
  std::string body = problem_json(why);
  std::string text =
      "HTTP/1.1 503 Service Unavailable\r\nServer: tsunagu\r\n"
      "Content-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  beast::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) socket.write_some(asio::buffer(text), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

struct Loop;
// The event loop running on this thread, if any.
thread_local Loop* t_loop = nullptr;
// Whether this thread runs the event loop of `ioc`.
bool runs_here(const asio::io_context& ioc);

// Runs `ioc` until it is stopped, calling `idle` whenever no handler is ready.
void run_loop(asio::io_context& ioc, const std::function<bool()>& idle) {
  if (!idle) {
    ioc.run();
    return;
  }
  while (!ioc.stopped()) {
    ioc.poll();
    if (idle()) continue;
    ioc.run_one();
  }
}

// What the loop needs of a session of either kind (plain or TLS).
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // stop() has begun: idle keep-alive connections go now, busy ones after their response.
  virtual void on_server_stop() = 0;
  virtual void close() = 0;
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One accepted connection, over plain TCP or TLS (`Stream`). Owned by shared_ptrs held by its
// pending operations and, while a request is being handled, by the Reply. All members are used
// only on the loop thread, except that the destructor may run wherever the last Reply copy is
// dropped.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

  // `client` holds one of core.admit()'s slots, which the session gives back when it ends.
  // `tls`: the TLS context of a TLS session, kept alive while the session lives (a reload
  // gives new connections a new one).
  Session(Core& core, asio::io_context& ioc, tcp::socket socket, std::string client,
          std::shared_ptr<asio::ssl::context> tls = nullptr)
      : core_(core),
        ex_(ioc.get_executor()),
        tls_(std::move(tls)),
        stream_(make_stream(std::move(socket), tls_.get())),
        client_(std::move(client)) {
    beast::error_code ec;
    tcp_layer().socket().set_option(tcp::no_delay(true), ec);
    const auto ep = tcp_layer().socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint_text(ep);
    behind_proxy_ =
        !core_.options.trusted_proxies.empty() && core_.options.trusted_proxies.trusts(client_);
  }
  ~Session() override {
    end_request();
    core_.release(client_);
  }

  void start() {
    if constexpr (kTls) {
      // The handshake is the client's first word: it must come as soon as a request header.
      tcp_layer().expires_after(std::chrono::seconds(core_.options.header_timeout_s));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = shared_from_this()](beast::error_code ec) {
                                if (self->state_ == State::kClosed) return;
                                if (ec) {
                                  tls_handshakes_failed().inc();
                                  return self->close();
                                }
                                self->read_header();
                              });
    } else {
      read_header();
    }
  }
  void on_server_stop() override {
    if (state_ == State::kIdle) close();
  }
  void close() override {
    state_ = State::kClosed;
    end_request();
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_layer().close();
  }

 private:
  enum class State { kIdle, kReadingBody, kHandling, kWriting, kClosing, kClosed };

  static Stream make_stream(tcp::socket socket, asio::ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }
  static metrics::Counter& tls_handshakes_failed() {
    static auto& family = metrics::registry().counter(
        "tsunagu_http_tls_handshakes_failed_total",
        "TLS connections closed because their handshake failed or timed out", {});
    return family.with({});
  }
  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  void read_header() {
    state_ = State::kIdle;
    version_ = 11;
    head_ = false;
    if (buffer_.capacity() > kReadBuffer) buffer_.shrink_to_fit();
    buffer_.reserve(kReadBuffer);
    parser_.emplace();
    set_limits(*parser_, core_.options);
    // A new connection must say something soon: one that never does only holds a descriptor.
    tcp_layer().expires_after(std::chrono::seconds(served_ == 0 ? core_.options.header_timeout_s
                                                                : core_.options.idle_timeout_s));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    if (ec) return on_read_error(ec);
    ++served_;
    received_ns_ = steady_now_ns();
    const auto& msg = parser_->get();
    version_ = msg.version();
    keep_alive_ = msg.keep_alive();
    head_ = msg.method() == bhttp::verb::head;
    in_request_ = true;
    core_.in_flight.fetch_add(1);
    if (Status st = check_header(msg); !st.ok()) return fail(std::move(st));
    if (parser_->is_done()) return handle();
    state_ = State::kReadingBody;
    if (auto length = parser_->content_length()) {
      size_t free = buffer_.capacity() - buffer_.size();
      if (*length > free) {
        buffer_.reserve(buffer_.size() +
                        static_cast<size_t>(std::min<uint64_t>(*length, kBodyReadBuffer)));
      }
    }
    // RFC 9110 §10.1.1: an HTTP/1.0 client's Expect must be ignored.
    if (version_ >= 11 && beast::iequals(msg[bhttp::field::expect], "100-continue")) {
      asio::async_write(stream_, asio::buffer(kContinue, sizeof(kContinue) - 1),
                        [self = shared_from_this()](beast::error_code wec, size_t) {
                          if (wec) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    // A small request's body arrives with its header: parse what is buffered here, and start
    // an asynchronous read (a handler dispatched later, and its bookkeeping) only for the rest.
    parser_->eager(true);
    while (buffer_.size() > 0) {
      beast::error_code ec;
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) break;
      if (ec) return on_read_error(ec);
      if (parser_->is_done()) return handle();
      if (used == 0) break;
    }
    tcp_layer().expires_after(std::chrono::seconds(core_.options.idle_timeout_s));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (self->state_ == State::kClosed) return;
                        if (ec) return self->on_read_error(ec);
                        self->handle();
                      });
  }

  void on_read_error(const beast::error_code& ec) {
    auto data = buffer_.data();
    std::string_view unparsed(static_cast<const char*>(data.data()), data.size());
    if (auto answer = read_error_answer(ec, unparsed, core_.options)) return fail(*answer);
    close();
  }

  void handle() {
    state_ = State::kHandling;
    tcp_layer().expires_never();
    Request req = to_request(parser_->release(), received_ns_, remote_);
    if (behind_proxy_) {
      if (auto forwarded = req.header("x-forwarded-for"); !forwarded.empty())
        req.remote = core_.options.trusted_proxies.client_of(client_, forwarded);
    }
    Reply reply = make_reply();
    try {
      core_.handler(std::move(req), reply);
    } catch (const std::exception& e) {
      log::error("http.handler_exception", {{"what", e.what()}, {"remote", remote_}});
      reply(problem_response(Status::Internal(std::string("unexpected error: ") + e.what())));
    } catch (...) {
      log::error("http.handler_exception", {{"what", "non-standard exception"}});
      reply(problem_response(Status::Internal("unexpected error: non-standard exception")));
    }
  }

  // The Reply may be called from any thread, at most once that counts; it hops back to this
  // session's loop (inline when already there) before touching the stream.
  Reply make_reply() {
    struct Once {
      std::shared_ptr<Session> session;
      std::atomic<bool> used{false};
    };
    auto once = std::make_shared<Once>();
    once->session = shared_from_this();
    return [once](Response&& response) {
      if (once->used.exchange(true)) return;
      std::shared_ptr<Session> s = std::move(once->session);
      // The session's own loop, also from its idle hook (outside the io_context's run, where
      // dispatch would post and wake the loop for it).
      if (runs_here(s->ex_.context())) return s->write(std::move(response));
      auto ex = s->ex_;
      asio::dispatch(
          ex, [s = std::move(s), r = std::move(response)]() mutable { s->write(std::move(r)); });
    };
  }

  void fail(Status status) {
    keep_alive_ = false;
    Response r = problem_response(status);
    r.close = true;
    write(std::move(r));
  }

  void write(Response&& r) {
    if (state_ == State::kClosed) return end_request();
    if (r.status < 200 || r.status > 599) {
      log::error("http.invalid_status", {{"status", r.status}});
      r = problem_response(Status::Internal("the handler produced an invalid HTTP status"));
    }
    close_after_ = r.close || !keep_alive_ || core_.stopping.load();
    // RFC 9110 §8.6: no Content-Length on 204; a 304's would have to be the GET's (§15.4.5),
    // which we do not know. Neither carries a body.
    const bool bodiless = r.status == 204 || r.status == 304;
    res_ = {};
    res_.version(version_);
    res_.result(static_cast<unsigned>(r.status));
    res_.set(bhttp::field::server, "tsunagu");
    if (!r.content_type.empty() && !bodiless) res_.set(bhttp::field::content_type, r.content_type);
    for (const auto& h : r.headers) {
      if (header_allowed(h)) res_.insert(h.name, h.value);
    }
    if (!bodiless) res_.content_length(r.body.size());
    res_.keep_alive(!close_after_);
    // A HEAD response announces the length of the body it does not carry (RFC 9110 §9.3.2).
    if (!bodiless && !head_) res_.body() = std::move(r.body);
    state_ = State::kWriting;
    tcp_layer().expires_after(std::chrono::seconds(core_.options.idle_timeout_s));
    // Sent after the handlers already ready on this loop (asio runs posted handlers in order),
    // not at once: a loop busy with many connections then sends a round's responses back to
    // back. Each send hands its bytes to the client's socket and, when the client waits for
    // them, wakes it, which in a VM is an interrupt to another CPU; sent in a row, all but the
    // first find the client awake. bench/results/history.md (2026-11-27) has the figures.
    asio::post(ex_, [self = shared_from_this()] { self->send(); });
  }

  void send() {
    if (state_ == State::kClosed) return end_request();
    bhttp::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->on_write(ec);
    });
  }

  void on_write(beast::error_code ec) {
    end_request();
    if (state_ == State::kClosed) return;
    if (ec && ec != bhttp::error::end_of_stream) return close();
    if (close_after_ || core_.stopping.load()) return linger_close();
    read_header();
  }

  void linger_close() {
    state_ = State::kClosing;
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    tcp_layer().expires_after(kLingerTime);
    drain();
  }

  void drain() {
    tcp_layer().async_read_some(buffer_.prepare(4096),
                                [self = shared_from_this()](beast::error_code ec, size_t) {
                                  if (self->state_ == State::kClosed) return;
                                  if (ec) return self->close();
                                  self->drain();
                                });
  }

  void end_request() {
    if (!in_request_) return;
    in_request_ = false;
    core_.request_ended();
  }

  Core& core_;
  const asio::io_context::executor_type ex_;
  std::shared_ptr<asio::ssl::context> tls_;  // before stream_, which refers to it
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  bhttp::response<bhttp::string_body> res_;
  std::string remote_;
  std::string client_;         // the address whose connection slot this session holds
  bool behind_proxy_ = false;  // the peer is a trusted proxy: X-Forwarded-For names the client
  uint64_t served_ = 0;        // request headers read on this connection
  State state_ = State::kIdle;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool close_after_ = true;
  bool in_request_ = false;
  int64_t received_ns_ = 0;
};

// One event loop: its thread, its acceptor and the sessions it owns.
struct Loop {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  tcp::acceptor acceptor{ioc};
  asio::steady_timer retry{ioc};
  // Weak so a finished session disappears on its own; swept when the list doubles.
  std::vector<std::weak_ptr<SessionBase>> sessions;
  size_t sweep_at = 64;
  std::thread thread;
  // Server::call_idle_within: calls the idle hook when it expires, unless it ran before.
  asio::steady_timer idle_timer{ioc};
  bool idle_timer_armed = false;
  const std::function<bool()>* idle = nullptr;
};

bool runs_here(const asio::io_context& ioc) {
  return t_loop != nullptr && &t_loop->ioc == &ioc;
}

}  // namespace

struct Server::Impl : Core {
  int thread_count = 1;
  uint16_t bound_port = 0;
  std::mutex lifecycle;  // start() against stop(), which may come from a signal-watching thread
  bool started = false;
  std::thread stopper;  // used when stop() is called from a loop thread, which must not block
  // Last, so sessions destroyed with the io_contexts still find Core alive.
  std::vector<std::unique_ptr<Loop>> loops;

  Status listen();
  void accept(Loop& loop);
  void drain_and_stop();
  bool on_loop_thread() const {
    return std::any_of(loops.begin(), loops.end(), [](const auto& l) {
      return l->ioc.get_executor().running_in_this_thread();
    });
  }
};

// Raises the descriptor limit to its hard limit (each connection is one) and sets the number of
// connections admitted at once below it, keeping a reserve for the store's files and fetches.
void set_connection_limit(Core& core) {
  constexpr rlim_t kReserve = 256;
  struct rlimit nofile {};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    struct rlimit raised = nofile;
    raised.rlim_cur = nofile.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) nofile = raised;
  }
  size_t limit = core.options.max_connections;
  if (nofile.rlim_cur != RLIM_INFINITY) {
    const size_t room =
        nofile.rlim_cur > 2 * kReserve ? nofile.rlim_cur - kReserve : nofile.rlim_cur / 2;
    limit = std::min(limit, room);
  }
  core.connection_limit = limit;
  log::info(
      "http.connection_limits",
      {{"max_connections", static_cast<int64_t>(limit)},
       {"max_connections_per_client",
        static_cast<int64_t>(core.options.max_connections_per_client)},
       {"open_files_limit",
        nofile.rlim_cur == RLIM_INFINITY ? int64_t{-1} : static_cast<int64_t>(nofile.rlim_cur)}});
}

Status Server::Impl::listen() {
  set_connection_limit(*this);
  const bool v6 = options.bind.find(':') != std::string::npos;
  const std::string where =
      (v6 ? "[" + options.bind + "]" : options.bind) + ":" + std::to_string(options.port);
  auto fail = [&](const beast::error_code& ec) {
    return Status::Internal("cannot listen on " + where + ": " + ec.message());
  };
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.bind, ec);
  if (ec) return Status::Internal("cannot listen on " + where + ": not an IP address");
  tcp::endpoint endpoint(address, options.port);

  // SO_REUSEPORT would let us silently share the port with another process of the same user
  // (say, a second broker). A plain bind first turns that into the usual "Address already in use".
  if (options.port != 0) {
    asio::io_context probe_ioc;
    tcp::acceptor probe(probe_ioc);
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    if (ec) return fail(ec);
  }

  for (int i = 0; i < thread_count; ++i) {
    auto loop = std::make_unique<Loop>();
    auto& a = loop->acceptor;
    a.open(endpoint.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.set_option(ReusePort(true), ec);
    if (!ec) a.bind(endpoint, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      loops.clear();
      return fail(ec);
    }
    // With port 0 the first bind picks the port; the other loops join it.
    if (i == 0) endpoint.port(a.local_endpoint().port());
    loops.push_back(std::move(loop));
  }
  bound_port = endpoint.port();
  return Status::Ok();
}

void Server::Impl::accept(Loop& loop) {
  loop.acceptor.async_accept([this, &loop](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !loop.acceptor.is_open()) return;
    if (ec) {
      // Usually EMFILE/ENFILE: retrying at once would spin, so wait for descriptors to free up.
      log::warn("http.accept_failed", {{"error", ec.message()}});
      loop.retry.expires_after(std::chrono::milliseconds(100));
      loop.retry.async_wait([this, &loop](beast::error_code tec) {
        if (!tec) accept(loop);
      });
      return;
    }
    if (stopping.load()) return;  // the socket closes as it goes out of scope
    std::string client = client_address(socket);
    if (Status st = admit(client); !st.ok()) {
      refuse(socket, st);
      return accept(loop);
    }
    std::shared_ptr<SessionBase> session;
    if (auto context = tls_context()) {
      auto tls = std::make_shared<Session<TlsStream>>(*this, loop.ioc, std::move(socket),
                                                      std::move(client), std::move(context));
      tls->start();
      session = std::move(tls);
    } else {
      auto plain = std::make_shared<Session<PlainStream>>(*this, loop.ioc, std::move(socket),
                                                          std::move(client));
      plain->start();
      session = std::move(plain);
    }
    loop.sessions.push_back(session);
    if (loop.sessions.size() >= loop.sweep_at) {
      std::erase_if(loop.sessions, [](const auto& w) { return w.expired(); });
      loop.sweep_at = std::max<size_t>(64, 2 * loop.sessions.size());
    }
    accept(loop);
  });
}

void Server::Impl::drain_and_stop() {
  for (auto& l : loops) {
    asio::post(l->ioc, [loop = l.get()] {
      beast::error_code ec;
      loop->acceptor.close(ec);
      loop->retry.cancel();
      for (auto& w : loop->sessions) {
        if (auto s = w.lock()) s->on_server_stop();
      }
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options.shutdown_grace_s);
    if (!drained.wait_until(lock, deadline, [&] { return in_flight.load() == 0; })) {
      log::warn("http.stop_grace_expired", {{"in_flight", in_flight.load()}});
    }
  }
  // Whatever is left (lingering closes, requests past the grace period) is cut off here, on the
  // loop thread, so sockets do not outlive stop() even if the Server object lives on.
  for (auto& l : loops) {
    asio::post(l->ioc, [loop = l.get()] {
      for (auto& w : loop->sessions) {
        if (auto s = w.lock()) s->close();
      }
      loop->ioc.stop();
    });
  }
}

Server::Server(ServerOptions options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  impl_->thread_count = resolve_threads(impl_->options.threads);
}

Server::~Server() {
  stop();
  wait();
}

Status Server::start() {
  std::lock_guard<std::mutex> lock(impl_->lifecycle);
  if (impl_->started) return Status::Internal("the HTTP server was already started");
  if (impl_->stopping.load()) return Status::Internal("the HTTP server was stopped");
  if (!impl_->options.tls_cert_file.empty()) TSUNAGU_RETURN_IF_ERROR(reload_tls());
  TSUNAGU_RETURN_IF_ERROR(impl_->listen());
  impl_->started = true;
  for (auto& l : impl_->loops) {
    impl_->accept(*l);
    l->thread = std::thread([loop = l.get(), &idle = impl_->options.idle] {
      pthread_setname_np(pthread_self(), "tsunagu-http");  // as ps, top and perf show it
      // Handlers catch their own exceptions; this is the last line against anything else
      // (bad_alloc, a bug here) taking the process down.
      t_loop = loop;
      if (idle) loop->idle = &idle;
      for (;;) {
        try {
          run_loop(loop->ioc, idle);
          return;
        } catch (const std::exception& e) {
          log::error("http.loop_exception", {{"what", e.what()}});
        }
      }
    });
  }
  return Status::Ok();
}

Status Server::reload_tls() {
  const ServerOptions& o = impl_->options;
  if (o.tls_cert_file.empty()) return Status::Ok();
  auto context = load_tls_context(o.tls_cert_file, o.tls_key_file);
  if (!context.ok()) return context.status();
  std::lock_guard lock(impl_->tls_mu);
  impl_->tls = std::move(*context);
  return Status::Ok();
}

bool Server::tls() const {
  return !impl_->options.tls_cert_file.empty();
}

uint16_t Server::port() const {
  return impl_->bound_port;
}

int Server::threads() const {
  return impl_->thread_count;
}

void Server::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->lifecycle);
    if (impl_->stopping.exchange(true) || !impl_->started) return;
  }
  if (impl_->on_loop_thread()) {
    impl_->stopper = std::thread([impl = impl_.get()] { impl->drain_and_stop(); });
    return;
  }
  impl_->drain_and_stop();
}

void Server::call_idle_within(std::chrono::microseconds delay) {
  Loop* loop = t_loop;
  if (loop == nullptr || loop->idle == nullptr || loop->idle_timer_armed) return;
  loop->idle_timer_armed = true;
  loop->idle_timer.expires_after(delay);
  loop->idle_timer.async_wait([loop](beast::error_code) {
    loop->idle_timer_armed = false;
    while ((*loop->idle)()) {
    }
  });
}

void Server::wait() {
  for (auto& l : impl_->loops) {
    if (l->thread.joinable()) l->thread.join();
  }
  if (impl_->stopper.joinable()) impl_->stopper.join();
}

}  // namespace tsunagu::http
