// File: client/internal/test_server.h
//
// Test fixture: a real in-process ApiServer (memory store, 127.0.0.1:0, temp data dir) and a
// RestClient built from the kubeconfig it writes. Tests only.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "api/pod.h"
#include "apiserver/apiserver.h"
#include "client/rest_client.h"

namespace knet::client {

class ServerFixture : public ::testing::Test {
 protected:
  void StartServer(size_t window = 100000) {
    char tmpl[] = "/tmp/knet_client_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    apiserver::ServerConfig cfg;
    cfg.data_dir = dir_;
    cfg.store_url = "memory://";
    cfg.listen = "127.0.0.1:0";
    cfg.handler_threads = 4;
    cfg.watch_cache_window = window;
    auto s = apiserver::ApiServer::Start(cfg);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    auto c = RestClient::FromKubeconfig(server_->kubeconfig_path());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
  }
  void SetUp() override { StartServer(); }
  void TearDown() override {
    client_.reset();
    if (server_) server_->Stop();
    server_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  static api::Pod MakePod(const std::string& name, const std::string& app = "web") {
    api::Pod p;
    p.metadata.name = name;
    p.metadata.namespace_ = "default";
    p.metadata.labels["app"] = app;
    api::Container c;
    c.name = "c";
    c.image = "busybox";
    p.spec.containers.push_back(c);
    return p;
  }

  std::string dir_;
  std::unique_ptr<apiserver::ApiServer> server_;
  std::unique_ptr<RestClient> client_;
};

}  // namespace knet::client
