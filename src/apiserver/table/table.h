// File: apiserver/table/table.h
//
// Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Columns, cell values and cell types are
// those of kube-apiserver (pkg/printers/internalversion/printers.go): NAME READY STATUS RESTARTS
// AGE for pods, TYPE CLUSTER-IP EXTERNAL-IP PORT(S) for services, and so on; priority-1 columns
// are the `-o wide` ones. AGE and the other durations use apimachinery's duration.HumanDuration.
//
//   table::TableOptions opts{.include_object = table::IncludeObject::kMetadata,
//                            .now = std::chrono::system_clock::now()};
//   std::string body = table::EncodeTable("Pod", pods, list.metadata, opts);
//
// Everything here is thread-safe (no shared state) and does not throw; only EncodeTable with a
// default `now` reads the clock.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "api/meta.h"
#include "api/object.h"
#include "base/status.h"

namespace knet::apiserver::table {

// The includeObject query parameter (metav1.IncludeObjectPolicy): None, Metadata (the default)
// or Object.
enum class IncludeObject { kNone, kMetadata, kObject };

// Parses the includeObject query parameter: "None", "Metadata", "Object", or "" (Metadata).
// Anything else is InvalidArgument with upstream's message:
//   includeObject: Invalid value: "All": must be 'Metadata', 'Object', 'None', or empty
base::StatusOr<IncludeObject> ParseIncludeObject(std::string_view value);

struct TableOptions {
  IncludeObject include_object = IncludeObject::kMetadata;
  // Omit the column definitions (every watch event after the first; `?watch&...` with
  // TableOptions.NoHeaders upstream). They are encoded as null, as upstream does.
  bool no_headers = false;
  // The instant AGE columns count from. The default (the epoch) means "the current time".
  std::chrono::system_clock::time_point now;
};

// A Table (apiVersion meta.k8s.io/v1, kind Table) of `objects`, which are all of kind `kind`
// ("Pod", "Service", ...; kinds without a printer get the generic NAME, AGE columns), with the
// list metadata (resourceVersion, continue, remainingItemCount) copied from `list_meta` (for a
// GET of one object, upstream puts that object's resourceVersion there). Each
// row's object is a PartialObjectMetadata (kMetadata), the whole object (kObject), or absent
// (kNone). Pods that Succeeded or Failed carry upstream's row condition Completed=True.
std::string EncodeTable(std::string_view kind, std::span<const api::Object> objects,
                        const api::ListMeta& list_meta, const TableOptions& options);

// The columnDefinitions array for `kind`: objects with name, type, format, description and
// priority, as upstream. Unknown kinds get NAME and AGE.
nlohmann::json ColumnDefinitions(std::string_view kind);

// One row's cells for `obj`, in the order of ColumnDefinitions(KindOf(obj)): JSON strings and
// integers as upstream. `now` is the instant AGE counts from (used as is).
nlohmann::json RowCells(const api::Object& obj, std::chrono::system_clock::time_point now);

// apimachinery's duration.HumanDuration: "<invalid>" below -1s, "0s" for -1s, then "59s",
// "119s", "2m", "9m59s", "10m", "179m", "3h", "7h59m", "8h", "47h", "2d", "7d23h", "8d",
// "729d", "2y", "7y364d", "8y", ...
std::string HumanDuration(std::chrono::seconds d);

}  // namespace knet::apiserver::table
