#include "apiserver/strategy.h"

#include <variant>

namespace knet::apiserver::strategy {

namespace {

template <class T>
concept HasSpec = requires(T t) {
  t.spec;
};
template <class T>
concept HasStatus = requires(T t) {
  t.status;
};

}  // namespace

bool TracksGeneration(const api::Object& obj) {
  return std::holds_alternative<api::Deployment>(obj) ||
         std::holds_alternative<api::ReplicaSet>(obj) ||
         std::holds_alternative<api::NetworkPolicy>(obj);
}

void PrepareForCreate(api::Object& obj, bool has_status_subresource) {
  std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, api::Node>) {
          // Nodes may be created with status (kubelets register that way).
        } else if constexpr (HasStatus<T>) {
          if (has_status_subresource) o.status = {};
        }
        if constexpr (std::is_same_v<T, api::Pod>) {
          o.status.phase = "Pending";
          o.status.qos_class = "BestEffort";
        }
        if constexpr (std::is_same_v<T, api::Namespace>) {
          o.status.phase = "Active";
          if (o.spec.finalizers.empty()) o.spec.finalizers = {"kubernetes"};
        }
      },
      obj);
  if (TracksGeneration(obj)) api::MetaOf(obj).generation = 1;
}

void PrepareForUpdate(api::Object& obj, const api::Object& old, std::string_view subresource,
                      bool has_status_subresource) {
  std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        const T& prev = std::get<T>(old);
        if (subresource == "binding") return;  // pods/binding writes spec.nodeName and status
        if (subresource == "status") {
          // A status write changes only status: spec and metadata stay as stored.
          if constexpr (HasStatus<T>) {
            auto status = std::move(o.status);
            std::string rv = o.metadata.resource_version;
            o = prev;
            o.status = std::move(status);
            o.metadata.resource_version = rv;
          }
          return;
        }
        if constexpr (HasStatus<T>) {
          if (has_status_subresource) o.status = prev.status;
        }
        if constexpr (std::is_same_v<T, api::Namespace>) {
          o.spec.finalizers = prev.spec.finalizers;  // changed only through finalize
        }
        if constexpr (HasSpec<T>) {
          if (TracksGeneration(obj)) {
            o.metadata.generation = prev.metadata.generation;
            if (!(o.spec == prev.spec)) ++o.metadata.generation;
          }
        }
      },
      obj);
}

}  // namespace knet::apiserver::strategy
