// Servers for the http plugin's end-to-end tests: a scripted server that misbehaves on demand
// (raw POSIX sockets in a thread: it has to send broken framing and resets no HTTP library
// would produce), child processes (nginx, the Node capture server) that are always killed, and
// a test CA made with the openssl command.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace modelport::http_test {

// A port that was free a moment ago (bound to 127.0.0.1:0, then released).
std::uint16_t free_port();
// Waits until something accepts TCP connections on 127.0.0.1:port.
bool wait_for_port(std::uint16_t port, int timeout_ms = 10000);

struct Request {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Writes everything; returns false when the peer is gone.
bool send_all(int fd, std::string_view bytes);
// A complete response; Content-Length is added unless `headers` has a Transfer-Encoding.
bool respond(int fd, int status, std::string_view reason, const std::vector<std::pair<std::string, std::string>>& headers,
             std::string_view body);
// Makes the coming close() send a TCP reset.
void arm_reset(int fd);

class ScriptedServer {
 public:
  // Answers one request on `fd`; returns false to close the connection afterwards.
  using Handler = std::function<bool(int fd, const Request& request)>;
  explicit ScriptedServer(Handler handler);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(std::string_view target) const;
  int hits(const std::string& target) const;
  int connections() const { return connections_.load(); }
  std::vector<Request> requests() const;
  bool stopping() const { return stopping_.load(); }

 private:
  void accept_loop();
  void serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::map<std::string, int> hits_;
  std::vector<Request> requests_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// A child process, killed (SIGTERM, then SIGKILL) and reaped by the destructor.
class Child {
 public:
  // Starts argv[0] with these arguments; with capture_stdout, its stdout is readable by line.
  Child(const std::vector<std::string>& argv, bool capture_stdout = false);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // The next line of stdout, or nullopt at end/timeout.
  std::optional<std::string> read_line(int timeout_ms = 10000);
  bool running();
  void stop();

 private:
  int pid_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;
};

// The openssl CLI writes a CA, a server certificate for 127.0.0.1 and localhost signed by it,
// and an unrelated second CA.
struct TestCerts {
  std::filesystem::path ca, server_cert, server_key, other_ca;
};
TestCerts make_test_certs(const std::filesystem::path& dir);

// nginx (Debian's /usr/sbin/nginx) serving `root` on 127.0.0.1, from a private prefix in
// `dir`, in the foreground without a master process; with certs, a second TLS listener too.
class Nginx {
 public:
  Nginx(const std::filesystem::path& dir, const std::filesystem::path& root, const TestCerts* certs = nullptr);
  std::uint16_t port() const { return port_; }
  std::uint16_t tls_port() const { return tls_port_; }

 private:
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
  std::unique_ptr<Child> child_;
};

std::string nginx_binary();
std::string node_binary();

}  // namespace modelport::http_test
