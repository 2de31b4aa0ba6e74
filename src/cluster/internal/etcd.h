// File: cluster/internal/etcd.h
//
// The etcd members of a `--store etcd` cluster: three `etcd` processes (Debian's etcd-server) on
// the underlay gateway address, client ports 2379/22379/32379 and peer ports 2380/22380/32380 (as
// etcd's own local-cluster Procfile), data under <state-dir>/etcd/<member>, logs under
// <state-dir>/logs. Each is recorded in the manifest as soon as it runs.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "base/status.h"
#include "cluster/internal/manifest.h"

namespace knet::cluster::internal {

inline constexpr char kEtcdBinary[] = "/usr/bin/etcd";
inline constexpr int kEtcdMembers = 3;

// Starts the members (recording each in `m` and saving it) and waits until every one answers
// /health with "true". Returns the store URL for `knet server --store`
// ("etcd://10.250.7.1:2379,...?prefix=/registry/"). FailedPrecondition if etcd is not installed.
// `cancelled` (may be empty) is polled while waiting: true returns Cancelled.
base::StatusOr<std::string> StartEtcd(Manifest& m, std::chrono::milliseconds timeout,
                                      const std::function<bool()>& cancelled);

// GET http://<ip>:<port><path> with a short timeout; the response body.
base::StatusOr<std::string> HttpGet(const std::string& ip, int port, const std::string& path);

}  // namespace knet::cluster::internal
