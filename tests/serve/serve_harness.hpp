// Test harness for `modelport serve`: runs the built CLI on a free port (--port 0) with a temp
// store, and talks to it over plain sockets (no HTTP library: the tests need to send broken and
// byte-by-byte requests that a client library would refuse to produce).
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace modelport::test {

// The server process; killed (SIGTERM, then SIGKILL) by the destructor in every case.
class ServeProcess {
 public:
  ServeProcess(const std::string& store, const std::vector<std::string>& extra_args = {});
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  const std::string& banner() const { return banner_; }
  bool running();
  // Sends SIGTERM and waits (up to `timeout`); returns the exit status (-1: killed / still running).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string banner_;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A client connection to 127.0.0.1:port.
class Connection {
 public:
  explicit Connection(int port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void send(const std::string& bytes);
  // Reads one response (body by Content-Length; `head` = no body). Fails the test on timeout or
  // a connection closed before the end.
  HttpResponse read_response(bool head = false, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // True when the server closed the connection within `timeout` (read returns 0 or an error).
  bool closed_by_server(std::chrono::milliseconds timeout);

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
};

// One request on a fresh connection.
HttpResponse request(int port, const std::string& method, const std::string& target, const std::string& body = {},
                     const std::vector<std::string>& headers = {});

// A multipart body with the given parts (name, filename, content type, content).
struct FormPart {
  std::string name, filename, content_type, content;
};
std::string multipart_body(const std::string& boundary, const std::vector<FormPart>& parts);

}  // namespace modelport::test
