// File: controllers/events.h
//
// EventRecorder: writes core/v1 Events about objects, as client-go's recorder does, so that
// `kubectl describe` and `kubectl get events` show what a controller did or why it could not.
// Repeats of the same (object, type, reason, message) within ten minutes bump count and
// lastTimestamp on the first Event instead of creating a new one. Best effort: a failed write is
// logged, never returned, because an Event must not fail the reconcile that reports it.
// Thread-safe.
//
//   EventRecorder events(client, "node-ipam-controller");
//   events.Record(EventRecorder::RefOf(node), "Warning", "CIDRNotAvailable", "no CIDR left in
//   ...");
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "api/core.h"
#include "client/rest_client.h"

namespace knet::controllers {

class EventRecorder {
 public:
  EventRecorder(client::RestClient* client, std::string component)
      : client_(client), component_(std::move(component)) {}

  template <class T>
  static api::ObjectReference RefOf(const T& obj) {
    api::ObjectReference r;
    r.api_version = T::kApiVersion;
    r.kind = T::kKind;
    r.namespace_ = obj.metadata.namespace_;
    r.name = obj.metadata.name;
    r.uid = obj.metadata.uid;
    r.resource_version = obj.metadata.resource_version;
    return r;
  }

  // type: "Normal" or "Warning". Events about cluster-scoped objects go to "default".
  void Record(const api::ObjectReference& obj, const std::string& type, const std::string& reason,
              const std::string& message);

 private:
  struct Seen {
    std::string ns, name;  // the Event object
    int32_t count = 0;
    std::chrono::steady_clock::time_point last;
  };
  client::RestClient* client_;
  std::string component_;
  std::mutex mu_;
  // (object uid or ns/name, type, reason, message) -> the Event written for it
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, Seen> seen_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, Key>> expiry_;  // time order
};

}  // namespace knet::controllers
