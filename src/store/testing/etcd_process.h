// File: store/testing/etcd_process.h
//
// EtcdCluster: real etcd members (/usr/bin/etcd) on loopback for tests and benchmarks. Each member
// gets free ports and a data dir under a fresh temp dir; the destructor kills every member it
// started (by pid) and removes the dir, and members die with the test process (PDEATHSIG), so a
// crashing test leaves nothing behind.
//
//   auto etcd = EtcdCluster::Start(1, "conformance");
//   if (!etcd.ok()) FAIL() << etcd.status().ToString();
//   auto store = OpenStore((*etcd)->Url("/test/"));
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace knet::store::testing {

class EtcdCluster {
 public:
  static constexpr char kEtcdBinary[] = "/usr/bin/etcd";
  static bool Available();

  // Starts `members` members and waits until the cluster has a leader and serves requests.
  static base::StatusOr<std::unique_ptr<EtcdCluster>> Start(int members, const std::string& name,
                                                            bool unsafe_no_fsync = false);
  ~EtcdCluster();

  // "127.0.0.1:port" of every member, and an etcd:// store URL naming all of them.
  std::vector<std::string> Endpoints() const;
  std::string Url(const std::string& prefix = "/registry/") const;
  // SIGKILLs member i and reaps it.
  void Kill(int i);

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    pid_t pid = -1;
  };
  EtcdCluster() = default;
  base::Status WaitHealthy(int i, int timeout_ms);

  std::string dir_;
  std::vector<Member> members_;
};

// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
int FreePort();

// A minimal HTTP/1.1 request to 127.0.0.1:port over a fresh connection: the response body.
base::StatusOr<std::string> HttpRequest(int port, const std::string& method,
                                        const std::string& path, const std::string& body);

}  // namespace knet::store::testing
