// tsunagu-null: the HTTP stack of the broker with a handler that answers at once. It is the
// baseline for load tests: the gap between this and the broker is the cost of NGSI-LD itself.
#include <pthread.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "http/server.hpp"

namespace {

using tsunagu::http::Reply;
using tsunagu::http::Request;
using tsunagu::http::Response;

constexpr char kUsage[] =
    "usage: tsunagu-null [options]\n"
    "  --port N        TCP port (default 1027; 0 picks a free one)\n"
    "  --bind ADDR     address to listen on (default 127.0.0.1)\n"
    "  --threads N     event loops (default 0 = the CPUs this process may use)\n"
    "  --body-bytes N  0 (default): answer 204 No Content; N > 0: answer 200 with an\n"
    "                  application/json body of exactly N bytes\n"
    "  --help          print this text\n";

template <class T>
bool parse_number(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && p == end;
}

// Always valid JSON of exactly n bytes, so clients that parse the body measure the same thing
// at every size: {"p":"xxx"} from 8 bytes, a number of n digits below that.
std::string json_body(size_t n) {
  if (n < 8) return std::string(n, '1');
  return "{\"p\":\"" + std::string(n - 8, 'x') + "\"}";
}

}  // namespace

int main(int argc, char** argv) {
  tsunagu::http::ServerOptions options;
  options.bind = "127.0.0.1";
  options.port = 1027;
  size_t body_bytes = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    const bool has_value = i + 1 < argc;
    const std::string_view value = has_value ? argv[i + 1] : "";
    bool ok = has_value;
    if (arg == "--port") {
      ok = ok && parse_number(value, options.port);
    } else if (arg == "--bind") {
      options.bind = std::string(value);
    } else if (arg == "--threads") {
      ok = ok && parse_number(value, options.threads) && options.threads >= 0;
    } else if (arg == "--body-bytes") {
      ok = ok && parse_number(value, body_bytes);
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "tsunagu-null: bad option %s\n%s", argv[i], kUsage);
      return 2;
    }
    ++i;
  }

  Response canned;
  if (body_bytes == 0) {
    canned.status = 204;
  } else {
    canned.content_type = "application/json";
    canned.body = json_body(body_bytes);
  }

  // Block the stop signals before any event-loop thread exists, so that only sigwait below
  // receives them and stop() runs on an ordinary thread. A script's `tsunagu-null &` starts us
  // with SIGINT ignored, which would discard it even while blocked; restore the default first.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  tsunagu::http::Server server(options,
                               [&canned](Request&&, Reply reply) { reply(Response(canned)); });
  const auto status = server.start();
  if (!status.ok()) {
    std::fprintf(stderr, "tsunagu-null: %s\n", status.detail().c_str());
    return 1;
  }
  std::fprintf(stderr, "tsunagu-null: listening on %s:%u with %d threads\n", options.bind.c_str(),
               static_cast<unsigned>(server.port()), server.threads());

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "tsunagu-null: %s, stopping\n", strsignal(signal_number));
  server.stop();
  server.wait();
  return 0;
}
