#include "apiserver/table/table.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>

#include "api/codec.h"
#include "apiserver/table/internal/printers.h"

namespace knet::apiserver::table {
namespace {

using table_internal::Column;

// Dumps without throwing: invalid UTF-8 (which the decoder should never let through) becomes
// U+FFFD instead of an exception.
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int64_t UnixNanos(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

nlohmann::json CellsFor(const api::Object& obj, int64_t now_ns) {
  namespace ti = table_internal;
  return std::visit(
      [&](const auto& o) -> nlohmann::json {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, api::Pod>) {
          return ti::PodCells(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Service>) {
          return ti::ServiceCells(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Endpoints>) {
          return ti::EndpointsCells(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::EndpointSlice>) {
          return ti::EndpointSliceCells(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Node>) {
          return ti::NodeCells(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Namespace>) {
          return ti::NamespaceCells(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Deployment>) {
          return ti::DeploymentCells(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::ReplicaSet>) {
          return ti::ReplicaSetCells(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::NetworkPolicy>) {
          return ti::NetworkPolicyCells(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Lease>) {
          return ti::LeaseCells(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Event>) {
          return ti::EventCells(o, now_ns);
        } else {
          return ti::GenericCells(o.metadata, now_ns);
        }
      },
      obj);
}

nlohmann::json ListMetaJson(const api::ListMeta& m) {
  nlohmann::json j = nlohmann::json::object();
  if (!m.resource_version.empty()) j["resourceVersion"] = m.resource_version;
  if (!m.continue_.empty()) j["continue"] = m.continue_;
  if (m.remaining_item_count) j["remainingItemCount"] = *m.remaining_item_count;
  return j;
}

}  // namespace

namespace table_internal {

std::string Since(const api::Time& t, int64_t now_ns) {
  if (t.IsZero()) return "<unknown>";
  // Go's Time.Sub saturates instead of overflowing (a timestamp centuries away is legal input);
  // int(d.Seconds()) then truncates towards zero, as duration_cast does.
  int64_t diff = 0;
  if (__builtin_sub_overflow(now_ns, t.unix_nanos(), &diff)) {
    diff = t.unix_nanos() < 0 ? INT64_MAX : INT64_MIN;
  }
  return HumanDuration(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::nanoseconds(diff)));
}

}  // namespace table_internal

std::string HumanDuration(std::chrono::seconds d) {
  // Thresholds, in the unit of the variable they are compared with.
  constexpr int64_t kTwoMinutes = 120;  // seconds
  constexpr int64_t kThreeHours = 180;  // minutes
  constexpr int64_t kTwoDays = 48;      // hours
  constexpr int64_t kEightDays = int64_t{24} * 8;
  constexpr int64_t kTwoYears = int64_t{24} * 730;
  constexpr int64_t kEightYears = int64_t{24} * 365 * 8;
  auto str = [](int64_t v, const char* unit) { return std::to_string(v) + unit; };

  const int64_t seconds = d.count();
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < kTwoMinutes) return str(seconds, "s");
  const int64_t minutes = seconds / 60;
  if (minutes < 10) {
    const int64_t s = seconds % 60;
    return s == 0 ? str(minutes, "m") : str(minutes, "m") + str(s, "s");
  }
  if (minutes < kThreeHours) return str(minutes, "m");
  const int64_t hours = minutes / 60;
  if (hours < 8) {
    const int64_t m = minutes % 60;
    return m == 0 ? str(hours, "h") : str(hours, "h") + str(m, "m");
  }
  if (hours < kTwoDays) return str(hours, "h");
  const int64_t days = hours / 24;
  if (hours < kEightDays) {
    const int64_t h = hours % 24;
    return h == 0 ? str(days, "d") : str(days, "d") + str(h, "h");
  }
  if (hours < kTwoYears) return str(days, "d");
  const int64_t years = days / 365;
  if (hours < kEightYears) {
    const int64_t dy = days % 365;
    return dy == 0 ? str(years, "y") : str(years, "y") + str(dy, "d");
  }
  return str(years, "y");
}

base::StatusOr<IncludeObject> ParseIncludeObject(std::string_view value) {
  if (value.empty() || value == "Metadata") return IncludeObject::kMetadata;
  if (value == "None") return IncludeObject::kNone;
  if (value == "Object") return IncludeObject::kObject;
  // The value is echoed the way Go's %q would, which JSON string escaping approximates.
  return base::InvalidArgumentError(
      "includeObject: Invalid value: " + Dump(nlohmann::json(std::string(value))) +
      ": must be 'Metadata', 'Object', 'None', or empty");
}

nlohmann::json ColumnDefinitions(std::string_view kind) {
  nlohmann::json cols = nlohmann::json::array();
  for (const Column& c : table_internal::ColumnsFor(kind)) {
    cols.push_back({
        {"name", c.name},
        {"type", c.type},
        {"format", c.format},
        {"description", c.description},
        {"priority", c.priority},
    });
  }
  return cols;
}

nlohmann::json RowCells(const api::Object& obj, std::chrono::system_clock::time_point now) {
  return CellsFor(obj, UnixNanos(now));
}

std::string EncodeTable(std::string_view kind, std::span<const api::Object> objects,
                        const api::ListMeta& list_meta, const TableOptions& options) {
  const auto now = options.now == std::chrono::system_clock::time_point()
                       ? std::chrono::system_clock::now()
                       : options.now;
  const int64_t now_ns = UnixNanos(now);
  const bool has_printer = table_internal::HasPrinter(kind);

  std::string out = R"({"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":)";
  out += Dump(ListMetaJson(list_meta));
  out += R"(,"columnDefinitions":)";
  out += options.no_headers ? "null" : Dump(ColumnDefinitions(kind));
  out += R"(,"rows":[)";
  bool first = true;
  for (const api::Object& obj : objects) {
    if (!first) out += ",";
    first = false;
    const bool typed = has_printer && api::KindOf(obj) == kind;
    nlohmann::json cells =
        typed ? CellsFor(obj, now_ns) : table_internal::GenericCells(api::MetaOf(obj), now_ns);
    out += R"({"cells":)";
    out += Dump(cells);
    if (const auto* pod = std::get_if<api::Pod>(&obj); pod && typed) {
      nlohmann::json conditions = table_internal::PodRowConditions(*pod);
      if (!conditions.is_null()) out += R"(,"conditions":)" + Dump(conditions);
    }
    switch (options.include_object) {
      case IncludeObject::kNone:
        break;
      case IncludeObject::kMetadata:
        out += R"(,"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",)";
        out += R"("metadata":)" + api::EncodeJson(api::MetaOf(obj)) + "}";
        break;
      case IncludeObject::kObject:
        out += R"(,"object":)" + api::EncodeObject(obj);
        break;
    }
    out += "}";
  }
  out += "]}";
  return out;
}

}  // namespace knet::apiserver::table
