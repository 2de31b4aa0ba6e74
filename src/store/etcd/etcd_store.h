// File: store/etcd/etcd_store.h
//
// EtcdStore: the distributed backend, speaking etcd's v3 gRPC API (KV Txn/Range/Compact and Watch
// streams) to a cluster of etcd 3.4+ members. Every key is stored under a prefix (default
// "/registry/"), so several knet clusters, or tests, can share one etcd. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace knet::store {

struct EtcdConfig {
  std::vector<std::string> endpoints;  // "host:port"; any member will do, others are failovers
  std::string prefix = "/registry/";
};

// Connects (waiting up to options.etcd_dial_timeout for one member to answer). Unavailable, naming
// the endpoints, if none does.
StatusOr<std::unique_ptr<Store>> OpenEtcdStore(const EtcdConfig& config,
                                               const StoreOptions& options = {});

}  // namespace knet::store
