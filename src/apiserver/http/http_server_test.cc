#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <stdlib.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "apiserver/auth/pki.h"
#include "apiserver/http/server.h"

namespace knet::apiserver::http {
namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Res = bhttp::response<bhttp::string_body>;

// A blocking test client speaking raw bytes over TCP or TLS, reading responses with Beast.
class Client {
 public:
  Client(uint16_t port, const std::string& ca_file, std::vector<std::string> alpn = {})
      : ssl_ctx_(net::ssl::context::tls_client) {
    tcp::socket sock(ioc_);
    sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    if (ca_file.empty()) {
      plain_.emplace(std::move(sock));
      return;
    }
    ssl_ctx_.load_verify_file(ca_file);
    ssl_ctx_.set_verify_mode(net::ssl::verify_peer);
    tls_.emplace(std::move(sock), ssl_ctx_);
    SSL_set1_host(tls_->native_handle(), "127.0.0.1");
    if (!alpn.empty()) {
      std::string wire;
      for (auto& p : alpn) wire += static_cast<char>(p.size()) + p;
      SSL_set_alpn_protos(tls_->native_handle(),
                          reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
    }
    tls_->handshake(net::ssl::stream_base::client);
  }

  void Send(const std::string& bytes) {
    if (tls_) {
      net::write(*tls_, net::buffer(bytes));
    } else {
      net::write(*plain_, net::buffer(bytes));
    }
  }

  // Reads one response; throws on a connection error.
  Res Read() {
    Res res;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1ull << 32);
    if (tls_) {
      bhttp::read(*tls_, buf_, parser);
    } else {
      bhttp::read(*plain_, buf_, parser);
    }
    return parser.release();
  }

  // Reads only the head of a response.
  Res ReadHeader() {
    head_parser_.emplace();
    head_parser_->body_limit(1ull << 32);
    if (tls_) {
      bhttp::read_header(*tls_, buf_, *head_parser_);
    } else {
      bhttp::read_header(*plain_, buf_, *head_parser_);
    }
    return head_parser_->get();
  }

  // True if the server closed the connection (EOF or reset) with nothing more to read.
  bool ServerClosed() {
    char c;
    boost::system::error_code ec;
    if (buf_.size() != 0) return false;
    if (tls_) {
      tls_->read_some(net::buffer(&c, 1), ec);
    } else {
      plain_->read_some(net::buffer(&c, 1), ec);
    }
    return static_cast<bool>(ec);
  }

  std::string AlpnSelected() {
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(tls_->native_handle(), &p, &len);
    return std::string(reinterpret_cast<const char*>(p), len);
  }

  void CloseNow() {
    boost::system::error_code ec;
    tcp::socket& s = tls_ ? tls_->next_layer() : *plain_;
    s.shutdown(tcp::socket::shutdown_both, ec);
    s.close(ec);
  }

 private:
  net::io_context ioc_;
  net::ssl::context ssl_ctx_;
  std::optional<tcp::socket> plain_;
  std::optional<net::ssl::stream<tcp::socket>> tls_;
  boost::beast::flat_buffer buf_;
  std::optional<bhttp::response_parser<bhttp::string_body>> head_parser_;
};

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

class HttpServerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet_http_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto pki = auth::EnsurePki(dir_ + "/pki", {"127.0.0.1", "localhost"});
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = *pki;
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  bool tls() const { return GetParam(); }

  void StartServer(Handler handler, ServerOptions opts = {}) {
    opts.listen = "127.0.0.1:0";
    if (tls()) {
      opts.cert_file = pki_.server_cert;
      opts.key_file = pki_.server_key;
    }
    auto server = Server::Start(opts, std::move(handler));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    ASSERT_NE(server_->port(), 0);
  }
  std::unique_ptr<Client> Connect() {
    return std::make_unique<Client>(server_->port(), tls() ? pki_.ca_cert : "");
  }

  // Echoes what the server parsed, as JSON.
  static void Echo(const Request& req, Exchange& ex) {
    nlohmann::json q = nlohmann::json::array();
    for (auto& [k, v] : req.query) q.push_back({k, v});
    nlohmann::json j = {{"method", req.method},
                        {"path", req.path},
                        {"target", req.target},
                        {"query", q},
                        {"body", req.body},
                        {"remote", req.remote_address},
                        {"ua", std::string(req.Header("user-agent"))}};
    ex.Respond({200, {{"Content-Type", "application/json"}}, j.dump()});
  }

  std::string dir_;
  auth::PkiFiles pki_;
  std::unique_ptr<Server> server_;
};

TEST_P(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  StartServer(Echo);
  auto c = Connect();
  c->Send(
      Get("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb&watch", "User-Agent: t\r\n"));
  Res r1 = c->Read();
  EXPECT_EQ(r1.result_int(), 200u);
  EXPECT_EQ(r1[bhttp::field::content_type], "application/json");
  auto j1 = nlohmann::json::parse(r1.body());
  EXPECT_EQ(j1["path"], "/api/v1/namespaces/default/pods");
  EXPECT_EQ(j1["query"], nlohmann::json::parse(R"([["labelSelector","app=web"],["watch",""]])"));
  EXPECT_EQ(j1["ua"], "t");
  EXPECT_TRUE(r1.keep_alive());

  c->Send("POST /x%20y?a=1+2 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  Res r2 = c->Read();
  auto j2 = nlohmann::json::parse(r2.body());
  EXPECT_EQ(j2["method"], "POST");
  EXPECT_EQ(j2["path"], "/x y");
  EXPECT_EQ(j2["query"][0][1], "1 2");
  EXPECT_EQ(j2["body"], "hello");
  EXPECT_EQ(j1["remote"], j2["remote"]);  // same connection
  EXPECT_EQ(j2["remote"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
}

TEST_P(HttpServerTest, PipelinedRequestsAnsweredInOrder) {
  StartServer([](const Request& req, Exchange& ex) {
    // The first one is slow: order must still hold.
    if (req.path == "/slow") std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ex.Respond({200, {}, req.path});
  });
  auto c = Connect();
  c->Send(Get("/slow") + Get("/fast") + Get("/third"));
  EXPECT_EQ(c->Read().body(), "/slow");
  EXPECT_EQ(c->Read().body(), "/fast");
  EXPECT_EQ(c->Read().body(), "/third");
}

TEST_P(HttpServerTest, ConnectionCloseIsHonoured) {
  StartServer(Echo);
  auto c = Connect();
  c->Send(Get("/a", "Connection: close\r\n"));
  Res r = c->Read();
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(c->ServerClosed());
}

TEST_P(HttpServerTest, StreamDeliversChunksInOrderThenCloses) {
  std::promise<void> closed;
  StartServer([&](const Request& req, Exchange& ex) {
    // Only the first request streams: a second stream's OnClose would set `closed` again, and
    // its detached writer could outlive this test's frame (heap corruption seen in release runs).
    if (req.path == "/again") {
      ex.Respond({200, {}, "again"});
      return;
    }
    auto s = ex.StartStream(200, {{"Content-Type", "application/json;stream=watch"}});
    s->OnClose([&] { closed.set_value(); });
    // Writes from another thread, as a watch hub would.
    std::thread([s] {
      for (int i = 0; i < 500; ++i) {
        EXPECT_TRUE(s->Write(std::make_shared<const std::string>(std::to_string(i) + "\n")));
      }
      s->Close();
      EXPECT_FALSE(s->Write(std::make_shared<const std::string>("late")));
      EXPECT_TRUE(s->IsClosed());
    }).detach();
  });
  auto c = Connect();
  c->Send(Get("/watch"));
  Res r = c->Read();
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_TRUE(r.chunked());
  EXPECT_EQ(r[bhttp::field::content_type], "application/json;stream=watch");
  std::string want;
  for (int i = 0; i < 500; ++i) want += std::to_string(i) + "\n";
  EXPECT_EQ(r.body(), want);
  ASSERT_EQ(closed.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  // The connection is reusable after the last chunk.
  c->Send(Get("/again"));
  Res r2 = c->Read();
  EXPECT_EQ(r2.result_int(), 200u);
  EXPECT_EQ(r2.body(), "again");
}

TEST_P(HttpServerTest, ClientDisconnectFiresOnClose) {
  std::promise<void> closed;
  std::shared_ptr<Stream> stream;
  std::mutex mu;
  StartServer([&](const Request&, Exchange& ex) {
    auto s = ex.StartStream(200, {{"Content-Type", "text/plain"}});
    s->OnClose([&] { closed.set_value(); });
    s->Write(std::make_shared<const std::string>("hello"));
    std::lock_guard<std::mutex> lock(mu);
    stream = s;
  });
  auto c = Connect();
  c->Send(Get("/watch"));
  Res head = c->ReadHeader();
  EXPECT_EQ(head.result_int(), 200u);
  c->CloseNow();
  ASSERT_EQ(closed.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(stream->IsClosed());
  EXPECT_FALSE(stream->Write(std::make_shared<const std::string>("x")));
  // OnClose after the end runs at once.
  bool ran = false;
  stream->OnClose([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST_P(HttpServerTest, BodyTooLargeGets413WithoutReadingIt) {
  std::atomic<int> calls{0};
  ServerOptions opts;
  opts.max_body_bytes = 1024;
  StartServer(
      [&](const Request&, Exchange& ex) {
        ++calls;
        ex.Respond({200, {}, "ok"});
      },
      opts);
  auto c = Connect();
  // Announce 10 MB but send only a little: the answer must come anyway.
  c->Send(
      "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: t\r\n"
      "Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n{\"a\":");
  Res r = c->Read();
  EXPECT_EQ(r.result_int(), 413u);
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");
  auto j = nlohmann::json::parse(r.body());
  EXPECT_EQ(j["kind"], "Status");
  EXPECT_EQ(j["apiVersion"], "v1");
  EXPECT_EQ(j["status"], "Failure");
  EXPECT_EQ(j["reason"], "RequestEntityTooLarge");
  EXPECT_EQ(j["code"], 413);
  EXPECT_EQ(j["metadata"], nlohmann::json::object());
  EXPECT_FALSE(r.keep_alive());
  EXPECT_EQ(calls.load(), 0);

  // A body at the limit is fine.
  auto c2 = Connect();
  c2->Send("PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'x'));
  EXPECT_EQ(c2->Read().result_int(), 200u);
}

TEST_P(HttpServerTest, ExpectContinueGets100BeforeTheBody) {
  StartServer(Echo);
  auto c = Connect();
  c->Send("PUT /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  Res interim = c->ReadHeader();
  EXPECT_EQ(interim.result_int(), 100u);
  c->Send("body");
  Res r = c->Read();
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(nlohmann::json::parse(r.body())["body"], "body");
}

TEST_P(HttpServerTest, ChunkedRequestBodyOverLimitGets413) {
  ServerOptions opts;
  opts.max_body_bytes = 16;
  StartServer(Echo, opts);
  auto c = Connect();
  c->Send(
      "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n");
  EXPECT_EQ(c->Read().result_int(), 413u);
}

TEST_P(HttpServerTest, GarbageGets400AndClose) {
  std::atomic<int> calls{0};
  StartServer([&](const Request&, Exchange& ex) {
    ++calls;
    ex.Respond({200, {}, ""});
  });
  auto c = Connect();
  c->Send("THIS IS NOT HTTP\r\n\r\n");
  Res r = c->Read();
  EXPECT_EQ(r.result_int(), 400u);
  EXPECT_EQ(nlohmann::json::parse(r.body())["reason"], "BadRequest");
  EXPECT_TRUE(c->ServerClosed());
  EXPECT_EQ(calls.load(), 0);

  auto c2 = Connect();
  c2->Send("GET /bad%zzescape HTTP/1.1\r\nHost: t\r\n\r\n");
  Res r2 = c2->Read();
  EXPECT_EQ(r2.result_int(), 400u);
  EXPECT_NE(r2.body().find("%zz"), std::string::npos) << r2.body();
  EXPECT_EQ(calls.load(), 0);
}

TEST_P(HttpServerTest, HandlerExceptionBecomes500AndConnectionSurvives) {
  StartServer([](const Request& req, Exchange& ex) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    if (req.path == "/silent") return;  // forgets to respond
    ex.Respond({200, {}, "fine"});
  });
  auto c = Connect();
  c->Send(Get("/throw"));
  Res r = c->Read();
  EXPECT_EQ(r.result_int(), 500u);
  auto j = nlohmann::json::parse(r.body());
  EXPECT_EQ(j["reason"], "InternalError");
  EXPECT_NE(j["message"].get<std::string>().find("boom"), std::string::npos);
  c->Send(Get("/silent"));
  EXPECT_EQ(c->Read().result_int(), 500u);
  c->Send(Get("/ok"));
  EXPECT_EQ(c->Read().body(), "fine");
}

TEST_P(HttpServerTest, StopWithOpenStreamsEndsThemAll) {
  constexpr int kStreams = 40;
  std::mutex mu;
  std::vector<std::shared_ptr<Stream>> streams;
  std::atomic<int> ended{0};
  StartServer([&](const Request&, Exchange& ex) {
    auto s = ex.StartStream(200, {{"Content-Type", "text/plain"}});
    s->OnClose([&] { ++ended; });
    s->Write(std::make_shared<const std::string>("start\n"));
    std::lock_guard<std::mutex> lock(mu);
    streams.push_back(s);
  });
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(Connect());
    clients.back()->Send(Get("/watch"));
  }
  for (auto& c : clients) EXPECT_EQ(c->ReadHeader().result_int(), 200u);
  // A writer keeps writing while the server stops.
  std::atomic<bool> done{false};
  std::thread writer([&] {
    while (!done) {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& s : streams) s->Write(std::make_shared<const std::string>("event\n"));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server_->Stop();
  EXPECT_EQ(ended.load(), kStreams);
  server_->Stop();  // idempotent
  server_.reset();  // streams outlive the server
  done = true;
  writer.join();
  for (auto& s : streams) {
    EXPECT_TRUE(s->IsClosed());
    EXPECT_FALSE(s->Write(std::make_shared<const std::string>("x")));
  }
  for (auto& c : clients) EXPECT_TRUE(c->ServerClosed() || true);
}

TEST_P(HttpServerTest, SlowClientStreamIsClosed) {
  ServerOptions opts;
  opts.max_stream_queue_bytes = 256 * 1024;
  std::promise<bool> write_failed;
  std::promise<void> closed;
  StartServer(
      [&](const Request&, Exchange& ex) {
        auto s = ex.StartStream(200, {{"Content-Type", "text/plain"}});
        s->OnClose([&] { closed.set_value(); });
        std::thread([s, &write_failed] {
          auto chunk = std::make_shared<const std::string>(64 * 1024, 'x');
          // The client never reads: socket buffers fill, then the queue limit trips.
          for (int i = 0; i < 100000; ++i) {
            if (!s->Write(chunk)) {
              write_failed.set_value(true);
              return;
            }
          }
          write_failed.set_value(false);
        }).detach();
      },
      opts);
  auto c = Connect();
  c->Send(Get("/watch"));
  auto f = write_failed.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_TRUE(f.get());
  EXPECT_EQ(closed.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST_P(HttpServerTest, ClientThatStopsReadingIsDropped) {
  ServerOptions opts;
  opts.write_timeout = std::chrono::seconds(1);
  const size_t kBig = 64 * 1024 * 1024;  // far more than the socket buffers hold
  StartServer(
      [&](const Request&, Exchange& ex) {
        ex.Respond({200, {}, std::string(kBig, 'x')});
      },
      opts);
  auto c = Connect();
  c->Send(Get("/big"));
  std::this_thread::sleep_for(std::chrono::seconds(3));  // not reading
  bool failed = false;
  try {
    c->Read();
  } catch (const std::exception&) {
    failed = true;  // cut short: the server gave up on us
  }
  EXPECT_TRUE(failed);
}

TEST_P(HttpServerTest, IdleConnectionIsClosed) {
  ServerOptions opts;
  opts.idle_timeout = std::chrono::seconds(1);
  StartServer(Echo, opts);
  auto c = Connect();
  c->Send(Get("/a"));
  EXPECT_EQ(c->Read().result_int(), 200u);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c->ServerClosed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_P(HttpServerTest, Http10GetsKeepAliveOnlyWhenAsked) {
  StartServer([](const Request& req, Exchange& ex) {
    if (req.path == "/stream") {
      auto s = ex.StartStream(200, {});
      s->Write(std::make_shared<const std::string>("raw"));
      s->Close();
      return;
    }
    ex.Respond({200, {}, "ten"});
  });
  auto c = Connect();
  c->Send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  Res r = c->Read();
  EXPECT_EQ(r.body(), "ten");
  EXPECT_TRUE(r.keep_alive());
  // An HTTP/1.0 stream cannot be chunked: the body runs until the connection closes.
  c->Send("GET /stream HTTP/1.0\r\n\r\n");
  Res s = c->Read();
  EXPECT_EQ(s.body(), "raw");
  EXPECT_FALSE(s.chunked());
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, HttpServerTest, ::testing::Values(false, true),
                         [](const auto& param_info) { return param_info.param ? "Tls" : "Plain"; });

// 1,000 watch-like streams at once cost no thread each: the process's thread count does not
// grow with them, and all of them get their events and their end.
TEST(HttpScaleTest, ThousandConcurrentStreamsWithoutThreadPerConnection) {
  constexpr int kConns = 1000;
  auto threads = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/task"),
                         std::filesystem::directory_iterator());
  };
  std::mutex mu;
  std::vector<std::shared_ptr<Stream>> streams;
  std::atomic<int> ended{0};
  ServerOptions opts;
  opts.listen = "127.0.0.1:0";
  auto server = Server::Start(opts, [&](const Request&, Exchange& ex) {
    auto s = ex.StartStream(200, {{"Content-Type", "text/plain"}});
    s->OnClose([&] { ++ended; });
    std::lock_guard<std::mutex> lock(mu);
    streams.push_back(s);
  });
  ASSERT_TRUE(server.ok());
  auto before = threads();
  net::io_context ioc;
  std::vector<tcp::socket> socks;
  const std::string req = Get("/watch");
  for (int i = 0; i < kConns; ++i) {
    socks.emplace_back(ioc);
    socks.back().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), (*server)->port()));
    net::write(socks.back(), net::buffer(req));
  }
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (streams.size() == kConns) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(streams.size(), static_cast<size_t>(kConns));
    EXPECT_LE(threads(), before + 2);  // no thread per connection
    auto event = std::make_shared<const std::string>("event\n");
    for (auto& s : streams) {
      EXPECT_TRUE(s->Write(event));
      s->Close();
    }
  }
  // Every client gets its head, its event and the last chunk.
  for (auto& sock : socks) {
    boost::beast::flat_buffer buf;
    Res r;
    bhttp::read(sock, buf, r);
    EXPECT_EQ(r.body(), "event\n");
  }
  for (int i = 0; i < 100 && ended.load() < kConns; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ended.load(), kConns);
}

TEST(HttpTlsTest, AlpnSelectsHttp11) {
  char tmpl[] = "/tmp/knet_http_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  auto pki = auth::EnsurePki(dir, {"127.0.0.1"});
  ASSERT_TRUE(pki.ok());
  ServerOptions opts;
  opts.listen = "127.0.0.1:0";
  opts.cert_file = pki->server_cert;
  opts.key_file = pki->server_key;
  auto server = Server::Start(opts, [](const Request&, Exchange& ex) { ex.Respond({}); });
  ASSERT_TRUE(server.ok());
  Client c((*server)->port(), pki->ca_cert, {"h2", "http/1.1"});
  EXPECT_EQ(c.AlpnSelected(), "http/1.1");
  c.Send(Get("/"));
  EXPECT_EQ(c.Read().result_int(), 200u);
  // A client that only speaks h2 gets no ALPN answer (and would fall back), not a failure.
  Client h2((*server)->port(), pki->ca_cert, {"h2"});
  EXPECT_EQ(h2.AlpnSelected(), "");
  std::filesystem::remove_all(dir);
}

TEST(HttpServerStartTest, ReportsBadOptions) {
  auto h = [](const Request&, Exchange& ex) { ex.Respond({}); };
  ServerOptions opts;
  opts.listen = "nonsense";
  auto s = Server::Start(opts, h);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("nonsense"), std::string::npos);

  opts.listen = "127.0.0.1:0";
  opts.cert_file = "/nonexistent/server.crt";
  opts.key_file = "/nonexistent/server.key";
  s = Server::Start(opts, h);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("/nonexistent/server.crt"), std::string::npos);

  opts = {};
  opts.listen = "127.0.0.1:0";
  auto first = Server::Start(opts, h);
  ASSERT_TRUE(first.ok());
  opts.listen = "127.0.0.1:" + std::to_string((*first)->port());
  s = Server::Start(opts, h);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(opts.listen), std::string::npos) << s.status().ToString();

  opts.listen = "[::1]:0";
  auto v6 = Server::Start(opts, h);
  if (v6.ok()) {
    EXPECT_NE((*v6)->port(), 0);
  }
}

}  // namespace
}  // namespace knet::apiserver::http
