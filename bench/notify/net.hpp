// Sockets and HTTP/1.1 framing for tsunagu-notify-bench (bench/notify/): loopback TCP, the
// monotonic clock every timestamp of the tool is read from, and the little of HTTP the tool
// needs (a head's end, Content-Length, one keep-alive message at a time). No TLS, no chunked
// bodies: the broker and curl both send Content-Length.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tsunagu::notify_bench {

// CLOCK_MONOTONIC in nanoseconds: the sender and the receiver read the same clock.
int64_t now_ns();

// A connected, non-blocking TCP socket to 127.0.0.1:port with Nagle off; -1 when the
// connection was refused (errno says why).
int connect_loopback(uint16_t port);
// A non-blocking listening socket on 127.0.0.1:port (0: a free port, written to `bound`); -1 on
// failure.
int listen_loopback(uint16_t port, uint16_t& bound);
void set_nonblocking(int fd);
void set_nodelay(int fd);

// One HTTP message at the front of `buf`: where its head ends and how long its body is.
struct Framing {
  size_t head_bytes = 0;  // up to and including the blank line
  size_t body_bytes = 0;  // Content-Length
  bool complete = false;  // head and body are both in `buf`
  bool malformed = false;
};
Framing frame(std::string_view buf);

// The status code of a response head ("HTTP/1.1 204 ..."); 0 when it is not one.
int response_status(std::string_view head);

// Writes all of `data` to a blocking or non-blocking socket, waiting for it to drain when it is
// full; false when the connection failed.
bool write_all(int fd, std::string_view data);

}  // namespace tsunagu::notify_bench
