// File: apiserver/table/internal/printers.h
//
// The pieces behind table.h: per-kind column lists and per-kind cell printers, each a port of
// the matching print* function of upstream's pkg/printers/internalversion/printers.go.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "api/object.h"

namespace knet::apiserver::table::table_internal {

struct Column {
  std::string_view name;
  std::string_view type;    // string, integer, ...
  std::string_view format;  // "name" for the NAME column, else ""
  std::string_view description;
  int priority = 0;  // 1: shown by `-o wide` only
};

// The columns for `kind`; nullopt-like empty span is never returned: unknown kinds get the
// generic NAME, AGE pair (IsGenericKind tells them apart).
std::span<const Column> ColumnsFor(std::string_view kind);
bool HasPrinter(std::string_view kind);

// Cells for the generic NAME, AGE columns.
nlohmann::json GenericCells(const api::ObjectMeta& meta, int64_t now_ns);

// translateTimestampSince: "<unknown>" for a zero time, else HumanDuration(now - t).
std::string Since(const api::Time& t, int64_t now_ns);

// Pod cells and the row condition upstream attaches (Completed=True for Succeeded or Failed
// pods; null otherwise).
nlohmann::json PodCells(const api::Pod& pod, int64_t now_ns);
nlohmann::json PodRowConditions(const api::Pod& pod);

nlohmann::json ServiceCells(const api::Service& svc, int64_t now_ns);
nlohmann::json EndpointsCells(const api::Endpoints& ep, int64_t now_ns);
nlohmann::json EndpointSliceCells(const api::EndpointSlice& slice, int64_t now_ns);
nlohmann::json NodeCells(const api::Node& node, int64_t now_ns);
nlohmann::json NamespaceCells(const api::Namespace& ns, int64_t now_ns);
nlohmann::json DeploymentCells(const api::Deployment& d, int64_t now_ns);
nlohmann::json ReplicaSetCells(const api::ReplicaSet& rs, int64_t now_ns);
nlohmann::json NetworkPolicyCells(const api::NetworkPolicy& np, int64_t now_ns);
nlohmann::json LeaseCells(const api::Lease& lease, int64_t now_ns);
nlohmann::json EventCells(const api::Event& ev, int64_t now_ns);

}  // namespace knet::apiserver::table::table_internal
