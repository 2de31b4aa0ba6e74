// Exchange::Upgrade (a handler taking over the connection as a Tunnel), the Dialer and
// ResponseReader, and client certificate verification; plain and TLS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "apiserver/auth/pki.h"
#include "apiserver/http/client.h"
#include "apiserver/http/server.h"

namespace knet::apiserver::http {
namespace {

std::string ReadExactly(Tunnel& t, size_t n) {
  std::string out;
  char buf[65536];
  while (out.size() < n) {
    size_t got = t.Read(buf, std::min(sizeof(buf), n - out.size()));
    if (got == 0) break;
    out.append(buf, got);
  }
  return out;
}

class UpgradeTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet_upgrade_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto pki = auth::EnsurePki(dir_ + "/pki", {"127.0.0.1"});
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = *pki;
  }
  void TearDown() override {
    if (server_) server_->Stop();
    std::filesystem::remove_all(dir_);
  }
  bool tls() const { return GetParam(); }

  void StartServer(Handler h, bool client_ca = false, bool require = false) {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.handler_threads = 4;
    if (tls()) {
      o.cert_file = pki_.server_cert;
      o.key_file = pki_.server_key;
      if (client_ca) o.client_ca_file = pki_.ca_cert;
      o.require_client_cert = require;
    }
    auto s = Server::Start(o, std::move(h));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  DialOptions Dial() const {
    DialOptions o;
    o.tls = tls();
    return o;
  }

  std::string dir_;
  auth::PkiFiles pki_;
  std::unique_ptr<Server> server_;
  Dialer dialer_;
};

// The handler echoes in upper case; bytes sent right after the request (before the 101 arrived)
// come out of the tunnel first.
TEST_P(UpgradeTest, EchoAfter101IncludingBytesSentEarly) {
  StartServer([](const Request& req, Exchange& ex) {
    if (req.Header("upgrade") != "echo") return ex.Respond({400, {}, "no upgrade"});
    auto t = ex.Upgrade(101, {{"Connection", "Upgrade"}, {"Upgrade", "echo"}});
    char buf[1024];
    while (size_t n = t->Read(buf, sizeof(buf))) {
      std::string s(buf, n);
      for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (!t->Write(s)) break;
    }
    t->Close();
  });
  auto conn = dialer_.Dial("127.0.0.1", server_->port(), Dial());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE((*conn)->Write(
      "GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly;"));
  ResponseReader r(conn->get());
  auto head = r.ReadHead();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->status, 101);
  EXPECT_EQ(head->Header("upgrade"), "echo");
  EXPECT_EQ(head->Header("connection"), "Upgrade");
  EXPECT_EQ(head->Header("content-length"), "");
  std::string got = r.TakeBuffered();
  got += ReadExactly(**conn, 6 - got.size());
  EXPECT_EQ(got, "EARLY;");
  ASSERT_TRUE((*conn)->Write("hello"));
  EXPECT_EQ(ReadExactly(**conn, 5), "HELLO");
  (*conn)->Close();
}

// Both sides send 4 MiB at once before reading anything: only works full duplex.
TEST_P(UpgradeTest, FullDuplexLargeTransfers) {
  constexpr size_t kSize = 4 * 1024 * 1024;
  std::atomic<size_t> server_got{0};
  StartServer([&](const Request&, Exchange& ex) {
    auto t = ex.Upgrade(101, {{"Connection", "Upgrade"}, {"Upgrade", "x"}});
    std::thread writer([t] {
      std::string block(64 * 1024, 's');
      for (size_t sent = 0; sent < kSize; sent += block.size()) {
        if (!t->Write(block)) return;
      }
    });
    server_got = ReadExactly(*t, kSize).size();
    writer.join();
    t->Close();
  });
  auto conn = dialer_.Dial("127.0.0.1", server_->port(), Dial());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  Tunnel* c = conn->get();
  ASSERT_TRUE(c->Write("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n"));
  ResponseReader r(c);
  auto head = r.ReadHead();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  ASSERT_EQ(head->status, 101);
  std::thread writer([c] {
    std::string block(64 * 1024, 'c');
    for (size_t sent = 0; sent < kSize; sent += block.size()) {
      if (!c->Write(block)) return;
    }
  });
  std::string got = r.TakeBuffered();
  got += ReadExactly(*c, kSize - got.size());
  writer.join();
  EXPECT_EQ(got.size(), kSize);
  EXPECT_EQ(got.find_first_not_of('s'), std::string::npos);
  // The server closes after reading everything: our next read sees the end.
  char b;
  EXPECT_EQ(c->Read(&b, 1), 0u);
  EXPECT_EQ(server_got.load(), kSize);
}

// The client going away unblocks the handler's Read; the server then closes cleanly.
TEST_P(UpgradeTest, PeerCloseEndsTheTunnelRead) {
  std::atomic<bool> ended{false};
  StartServer([&](const Request&, Exchange& ex) {
    auto t = ex.Upgrade(101, {{"Connection", "Upgrade"}, {"Upgrade", "x"}});
    char buf[16];
    while (t->Read(buf, sizeof(buf)) > 0) {
    }
    ended = true;
    t->Close();
  });
  {
    auto conn = dialer_.Dial("127.0.0.1", server_->port(), Dial());
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Write("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\n\r\n"));
    ResponseReader r(conn->get());
    ASSERT_TRUE(r.ReadHead().ok());
    (*conn)->Close();
  }
  for (int i = 0; i < 500 && !ended; ++i) usleep(10000);
  EXPECT_TRUE(ended.load());
}

// A tunnel still open when the server stops: Stop ends it (Read returns 0) and returns.
TEST_P(UpgradeTest, StopEndsOpenTunnels) {
  std::atomic<bool> upgraded{false};
  StartServer([&](const Request&, Exchange& ex) {
    auto t = ex.Upgrade(101, {{"Connection", "Upgrade"}, {"Upgrade", "x"}});
    upgraded = true;
    char buf[16];
    while (t->Read(buf, sizeof(buf)) > 0) {
    }
    EXPECT_FALSE(t->Write("late"));
  });
  auto conn = dialer_.Dial("127.0.0.1", server_->port(), Dial());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Write("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\n\r\n"));
  for (int i = 0; i < 500 && !upgraded; ++i) usleep(10000);
  server_->Stop();
  char b;
  ResponseReader r(conn->get());
  auto head = r.ReadHead();
  if (head.ok()) {
    EXPECT_EQ((*conn)->Read(&b, 1), 0u);
  }
}

// A chunked and a Content-Length response through ResponseReader.
TEST_P(UpgradeTest, ResponseReaderDecodesChunkedAndLengthBodies) {
  StartServer([](const Request& req, Exchange& ex) {
    if (req.path == "/stream") {
      auto s = ex.StartStream(200, {{"Content-Type", "text/plain"}});
      s->Write(std::make_shared<const std::string>("one\n"));
      s->Write(std::make_shared<const std::string>("two\n"));
      s->Close();
      return;
    }
    ex.Respond({404, {{"Content-Type", "text/plain"}}, "nothing here"});
  });
  for (std::string path : {"/stream", "/other"}) {
    auto conn = dialer_.Dial("127.0.0.1", server_->port(), Dial());
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Write("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    ResponseReader r(conn->get());
    auto head = r.ReadHead();
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    std::string body;
    while (true) {
      auto piece = r.ReadBody();
      ASSERT_TRUE(piece.ok()) << piece.status().ToString();
      if (piece->empty()) break;
      body += *piece;
    }
    if (path == "/stream") {
      EXPECT_EQ(head->status, 200);
      EXPECT_EQ(head->Header("transfer-encoding"), "chunked");
      EXPECT_EQ(body, "one\ntwo\n");
    } else {
      EXPECT_EQ(head->status, 404);
      EXPECT_EQ(body, "nothing here");
    }
  }
}

// A producer that waits for room streams far more than max_stream_queue_bytes to a slow reader.
TEST_P(UpgradeTest, WaitForRoomGivesBackpressureInsteadOfOverflow) {
  constexpr size_t kTotal = 16 * 1024 * 1024;
  std::atomic<bool> all_written{false};
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.max_stream_queue_bytes = 2 * 1024 * 1024;
  if (tls()) {
    o.cert_file = pki_.server_cert;
    o.key_file = pki_.server_key;
  }
  auto s = Server::Start(o, [&](const Request&, Exchange& ex) {
    auto stream = ex.StartStream(200, {{"Content-Type", "text/plain"}});
    auto block = std::make_shared<const std::string>(64 * 1024, 'x');
    for (size_t sent = 0; sent < kTotal; sent += block->size()) {
      if (!stream->WaitForRoom(1024 * 1024) || !stream->Write(block)) return stream->Close();
    }
    all_written = true;
    stream->Close();
  });
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  server_ = std::move(*s);
  auto conn = dialer_.Dial("127.0.0.1", server_->port(), Dial());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Write("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  ResponseReader r(conn->get());
  ASSERT_TRUE(r.ReadHead().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the producer gets ahead
  size_t got = 0;
  while (true) {
    auto piece = r.ReadBody();
    ASSERT_TRUE(piece.ok()) << piece.status().ToString();
    if (piece->empty()) break;
    got += piece->size();
  }
  EXPECT_EQ(got, kTotal);
  EXPECT_TRUE(all_written.load());
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, UpgradeTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Tls" : "Plain"; });

// Sends a request and returns the status, or 0 if the connection failed or ended without one.
int StatusOf(Dialer& dialer, uint16_t port, const DialOptions& o) {
  auto conn = dialer.Dial("127.0.0.1", port, o);
  if (!conn.ok()) return 0;
  if (!(*conn)->Write("GET /who HTTP/1.1\r\nHost: a\r\n\r\n")) return 0;
  ResponseReader r(conn->get());
  auto head = r.ReadHead();
  return head.ok() ? head->status : 0;
}

class ClientCertTest : public UpgradeTest {};

TEST_F(ClientCertTest, RequiredClientCertificateIsVerifiedAndItsNameGiven) {
  std::string seen;
  std::mutex mu;
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.cert_file = pki_.server_cert;
  o.key_file = pki_.server_key;
  o.client_ca_file = pki_.ca_cert;
  o.require_client_cert = true;
  auto s = Server::Start(o, [&](const Request& req, Exchange& ex) {
    std::lock_guard<std::mutex> lock(mu);
    seen = req.peer_common_name;
    ex.Respond({200, {}, "ok"});
  });
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  server_ = std::move(*s);

  DialOptions with;
  with.cert_file = pki_.kubelet_client_cert;
  with.key_file = pki_.kubelet_client_key;
  // Verifying the server too, against the CA, for the address we dial.
  with.verify_server = true;
  with.ca_file = pki_.ca_cert;
  EXPECT_EQ(StatusOf(dialer_, server_->port(), with), 200);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(seen, "kube-apiserver-kubelet-client");
  }
  // No certificate: refused in the handshake (TLS 1.3: at the first read).
  EXPECT_EQ(StatusOf(dialer_, server_->port(), DialOptions()), 0);
  // A certificate from another CA: refused.
  auto other = auth::EnsurePki(dir_ + "/other", {"127.0.0.1"});
  ASSERT_TRUE(other.ok());
  DialOptions foreign;
  foreign.cert_file = other->kubelet_client_cert;
  foreign.key_file = other->kubelet_client_key;
  EXPECT_EQ(StatusOf(dialer_, server_->port(), foreign), 0);
  // A server certificate checked against the wrong CA fails on our side.
  DialOptions wrong_ca = with;
  wrong_ca.ca_file = other->ca_cert;
  EXPECT_EQ(StatusOf(dialer_, server_->port(), wrong_ca), 0);
}

TEST_F(ClientCertTest, OptionalClientCertificate) {
  std::vector<std::string> seen;
  std::mutex mu;
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.cert_file = pki_.server_cert;
  o.key_file = pki_.server_key;
  o.client_ca_file = pki_.ca_cert;
  auto s = Server::Start(o, [&](const Request& req, Exchange& ex) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(req.peer_common_name);
    ex.Respond({200, {}, "ok"});
  });
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  server_ = std::move(*s);
  DialOptions with;
  with.cert_file = pki_.kubelet_client_cert;
  with.key_file = pki_.kubelet_client_key;
  EXPECT_EQ(StatusOf(dialer_, server_->port(), with), 200);
  EXPECT_EQ(StatusOf(dialer_, server_->port(), DialOptions()), 200);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"kube-apiserver-kubelet-client", ""}));
}

TEST(DialerTest, ConnectionRefusedIsUnavailableWithTheAddress) {
  Dialer d;
  // A port nobody listens on: bind one, close it, dial it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  auto c = d.Dial("127.0.0.1", ntohs(a.sin_port), DialOptions());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find("127.0.0.1:" + std::to_string(ntohs(a.sin_port))),
            std::string::npos)
      << c.status().ToString();
  EXPECT_FALSE(d.Dial("not-an-ip", 1, DialOptions()).ok());
}

}  // namespace
}  // namespace knet::apiserver::http
