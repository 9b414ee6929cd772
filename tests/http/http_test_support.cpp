#include "http_test_support.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace modelport::http_test {

namespace fs = std::filesystem;

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind failed");
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool wait_for_port(std::uint16_t port, int timeout_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool respond(int fd, int status, std::string_view reason, const std::vector<std::pair<std::string, std::string>>& headers,
             std::string_view body) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  bool framed = false;
  for (const auto& [k, v] : headers) {
    head += k + ": " + v + "\r\n";
    if (strcasecmp(k.c_str(), "transfer-encoding") == 0 || strcasecmp(k.c_str(), "content-length") == 0) framed = true;
  }
  if (!framed) head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  head += "\r\n";
  return send_all(fd, head) && send_all(fd, body);
}

void arm_reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

ScriptedServer::ScriptedServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error(std::string("scripted server: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptedServer::~ScriptedServer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : threads_) t.join();
}

std::string ScriptedServer::url(std::string_view target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
}

int ScriptedServer::hits(const std::string& target) const {
  std::lock_guard lock(mutex_);
  auto it = hits_.find(target);
  return it == hits_.end() ? 0 : it->second;
}

std::vector<Request> ScriptedServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void ScriptedServer::accept_loop() {
  for (;;) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      if (stopping_) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    ++connections_;
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

namespace {

// Reads one request (head, and a Content-Length body) from `fd`, keeping extra bytes in `buffer`.
std::optional<Request> read_request(int fd, std::string& buffer) {
  auto fill = [&]() {
    char chunk[65536];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t end;
  while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  Request r;
  std::string head = buffer.substr(0, end);
  buffer.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  std::string line = head.substr(0, line_end);
  std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string h = head.substr(pos, e - pos);
    std::size_t colon = h.find(':');
    if (colon != std::string::npos) {
      std::string name = h.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    pos = e + 2;
  }
  if (auto it = r.headers.find("content-length"); it != r.headers.end()) {
    const std::size_t length = std::stoull(it->second);
    while (buffer.size() < length) {
      if (!fill()) return std::nullopt;
    }
    r.body = buffer.substr(0, length);
    buffer.erase(0, length);
  }
  return r;
}

}  // namespace

void ScriptedServer::serve(int fd) {
  std::string buffer;
  while (!stopping_) {
    auto request = read_request(fd, buffer);
    if (!request) break;
    {
      std::lock_guard lock(mutex_);
      ++hits_[request->target];
      requests_.push_back(*request);
    }
    if (!handler_(fd, *request)) break;
  }
  std::lock_guard lock(mutex_);
  std::erase(open_fds_, fd);
  ::close(fd);
}

// ---- child processes ---------------------------------------------------------------------------

Child::Child(const std::vector<std::string>& argv, bool capture_stdout) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int pipe_fds[2] = {-1, -1};
  if (capture_stdout) {
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  }
  int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (capture_stdout) {
    ::close(pipe_fds[1]);
    stdout_fd_ = pipe_fds[0];
  }
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
}

Child::~Child() {
  stop();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

void Child::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 300; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool Child::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::optional<std::string> Child::read_line(int timeout_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    if (left <= 0 || stdout_fd_ < 0) return std::nullopt;
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

// ---- certificates ------------------------------------------------------------------------------

namespace {

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

void run_or_throw(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("command failed: " + command);
}

}  // namespace

TestCerts make_test_certs(const fs::path& dir) {
  fs::create_directories(dir);
  const std::string d = dir.string();
  write_text(dir / "ca.cnf",
             "[req]\ndistinguished_name = dn\nx509_extensions = v3_ca\nprompt = no\n[dn]\nCN = modelport test CA\n"
             "[v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
             "subjectKeyIdentifier = hash\n");
  write_text(dir / "server.ext",
             "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n"
             "keyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\n");
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string quiet = " >/dev/null 2>&1";
  run_or_throw("openssl req -x509 -config " + d + "/ca.cnf" + ec + " -keyout " + d + "/ca.key -out " + d + "/ca.pem -days 2" + quiet);
  run_or_throw("openssl req -x509 -config " + d + "/ca.cnf" + ec + " -keyout " + d + "/other.key -out " + d + "/other.pem -days 2" + quiet);
  run_or_throw("openssl req -new" + ec + " -subj /CN=localhost -keyout " + d + "/server.key -out " + d + "/server.csr" + quiet);
  run_or_throw("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d + "/ca.key -CAcreateserial -out " + d +
               "/server.pem -days 2 -extfile " + d + "/server.ext" + quiet);
  return TestCerts{dir / "ca.pem", dir / "server.pem", dir / "server.key", dir / "other.pem"};
}

// ---- nginx -------------------------------------------------------------------------------------

std::string nginx_binary() {
  if (const char* n = std::getenv("MODELPORT_TEST_NGINX"); n && *n) return n;
  return "/usr/sbin/nginx";
}

std::string node_binary() {
  if (const char* n = std::getenv("MODELPORT_TEST_NODE"); n && *n) return n;
  return "node";
}

Nginx::Nginx(const fs::path& dir, const fs::path& root, const TestCerts* certs) {
  if (!fs::exists(nginx_binary())) {
    throw std::runtime_error(nginx_binary() + " is missing (Debian: apt-get install nginx-light; tools/install-deps does it)");
  }
  fs::create_directories(dir / "tmp");
  // A port can be taken between free_port() and nginx's bind: try a few times.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    tls_port_ = certs ? free_port() : 0;
    const std::string d = dir.string();
    std::string conf = "daemon off;\nmaster_process off;\nworker_processes 1;\npid " + d + "/nginx.pid;\nerror_log " + d +
                       "/error.log warn;\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n"
                       "  client_body_temp_path " + d + "/tmp/body;\n  proxy_temp_path " + d + "/tmp/proxy;\n"
                       "  fastcgi_temp_path " + d + "/tmp/fastcgi;\n  uwsgi_temp_path " + d + "/tmp/uwsgi;\n"
                       "  scgi_temp_path " + d + "/tmp/scgi;\n"
                       "  types { application/json json; application/octet-stream bin; }\n"
                       "  default_type application/octet-stream;\n  sendfile on;\n  keepalive_requests 100000;\n"
                       "  server { listen 127.0.0.1:" + std::to_string(port_) + "; root " + root.string() + "; }\n";
    if (certs) {
      conf += "  server { listen 127.0.0.1:" + std::to_string(tls_port_) + " ssl; root " + root.string() +
              ";\n    ssl_certificate " + certs->server_cert.string() + ";\n    ssl_certificate_key " +
              certs->server_key.string() + "; }\n";
    }
    conf += "}\n";
    write_text(dir / "nginx.conf", conf);
    child_ = std::make_unique<Child>(std::vector<std::string>{nginx_binary(), "-p", d, "-c", d + "/nginx.conf", "-e", d + "/error.log"});
    const bool up = wait_for_port(port_, 5000) && (!certs || wait_for_port(tls_port_, 5000));
    if (up && child_->running()) return;
    child_.reset();
  }
  std::ifstream log(dir / "error.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  throw std::runtime_error("nginx did not start; error.log: " + text);
}

}  // namespace modelport::http_test
