// File: controllers/internal/test_env.h
//
// Test fixture for controller unit tests: the fake API is knet's own ApiServer on an in-memory
// store (memory://, 127.0.0.1:0, a temp data dir), reached through the same RestClient the
// controllers use in production. Plus helpers that play the other components' parts: a node that
// registers itself, a kubelet that marks pods Running/Ready, and polling with a deadline.
// Tests only.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api/node.h"
#include "api/pod.h"
#include "apiserver/apiserver.h"
#include "client/rest_client.h"
#include "controllers/informers.h"

namespace knet::controllers::testing {

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet_controllers_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    apiserver::ServerConfig cfg;
    cfg.data_dir = dir_;
    cfg.store_url = "memory://";
    cfg.listen = "127.0.0.1:0";
    cfg.handler_threads = 4;
    auto s = apiserver::ApiServer::Start(cfg);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    auto c = client::RestClient::FromKubeconfig(server_->kubeconfig_path());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
    informers_ = std::make_unique<SharedInformers>(client_.get());
  }
  void TearDown() override {
    // Controllers (declared in the test body or fixture subclass) must be stopped first.
    if (informers_) informers_->Stop();
    informers_.reset();
    client_.reset();
    if (server_) server_->Stop();
    server_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  // Starts the informers the controllers under test asked for and waits for them.
  void StartInformers() {
    informers_->Start();
    ASSERT_TRUE(informers_->WaitForSync(std::chrono::seconds(10)));
  }

  // Polls `cond` every 20 ms until it holds or `timeout` passes.
  static bool Eventually(const std::function<bool()>& cond,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond();
  }

  // A Ready node with the given labels and pod capacity, as an agent would register it.
  api::Node CreateNode(const std::string& name, std::map<std::string, std::string> labels = {},
                       bool ready = true) {
    api::Node n;
    n.metadata.name = name;
    n.metadata.labels = std::move(labels);
    n.metadata.labels["kubernetes.io/hostname"] = name;
    auto created = client_->Create(n);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    if (!created.ok()) return n;
    api::NodeCondition c;
    c.type = "Ready";
    c.status = ready ? "True" : "False";
    c.reason = ready ? "KubeletReady" : "KubeletNotReady";
    // Controllers (node IPAM) may write the Node meanwhile: re-read on a conflict, as an agent
    // would.
    base::StatusOr<api::Node> updated = *created;
    for (int attempt = 0; attempt < 20; ++attempt) {
      updated->status.conditions = {c};
      updated->status.addresses = {{"InternalIP", "192.0.2.1"}};
      updated = client_->UpdateStatus(*updated);
      if (updated.ok() || !client::IsConflict(updated.status())) break;
      updated = client_->Get<api::Node>("", name);
      if (!updated.ok()) break;
    }
    EXPECT_TRUE(updated.ok()) << updated.status().ToString();
    return updated.ok() ? *updated : *created;
  }

  // A pod in `default` with app=<app> and one container with a named port "http" 8080.
  static api::Pod MakePod(const std::string& name, const std::string& app = "web") {
    api::Pod p;
    p.metadata.name = name;
    p.metadata.namespace_ = "default";
    p.metadata.labels["app"] = app;
    api::Container c;
    c.name = "c";
    c.image = "busybox";
    api::ContainerPort port;
    port.name = "http";
    port.container_port = 8080;
    c.ports.push_back(port);
    p.spec.containers.push_back(c);
    return p;
  }

  // Plays the kubelet: phase Running, podIP, Ready condition `ready`.
  base::StatusOr<api::Pod> SetPodReady(const std::string& ns, const std::string& name,
                                       const std::string& ip, bool ready = true) {
    // Controllers (the scheduler's condition, node lifecycle) may write the pod meanwhile.
    for (int attempt = 0;; ++attempt) {
      base::StatusOr<api::Pod> r = SetPodReadyOnce(ns, name, ip, ready);
      if (r.ok() || !client::IsConflict(r.status()) || attempt == 19) return r;
    }
  }
  base::StatusOr<api::Pod> SetPodReadyOnce(const std::string& ns, const std::string& name,
                                           const std::string& ip, bool ready) {
    ASSIGN_OR_RETURN(api::Pod p, client_->Get<api::Pod>(ns, name));
    p.status.phase = "Running";
    p.status.pod_ip = ip;
    p.status.pod_ips = {{ip}};
    std::vector<api::PodCondition> conds;
    for (const api::PodCondition& c : p.status.conditions) {
      if (c.type != "Ready" && c.type != "ContainersReady") conds.push_back(c);
    }
    for (const char* type : {"ContainersReady", "Ready"}) {
      api::PodCondition c;
      c.type = type;
      c.status = ready ? "True" : "False";
      c.last_transition_time = api::Time::Now();  // minReadySeconds counts from here
      conds.push_back(c);
    }
    p.status.conditions = conds;
    return client_->UpdateStatus(p);
  }

  std::string dir_;
  std::unique_ptr<apiserver::ApiServer> server_;
  std::unique_ptr<client::RestClient> client_;
  std::unique_ptr<SharedInformers> informers_;
};

}  // namespace knet::controllers::testing
