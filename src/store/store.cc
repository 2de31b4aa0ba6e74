// OpenStore: the URL that selects a backend (--store).
#include "store/store.h"

#include <string>

#include "store/etcd/etcd_store.h"
#include "store/memory/memory_store.h"
#include "store/sqlite/sqlite_store.h"

namespace knet::store {
namespace {

Status BadUrl(std::string_view url, std::string_view why) {
  return base::InvalidArgumentError(
      "--store \"" + std::string(url) + "\": " + std::string(why) +
      " (expected memory://, sqlite:///absolute/path.db or etcd://host:port[,host:port...]"
      "[?prefix=/registry/])");
}

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenStore(std::string_view url, const StoreOptions& options) {
  if (url == "memory://" || url == "memory:") return NewMemoryStore(options);
  if (url.starts_with("sqlite://")) {
    std::string path(url.substr(9));
    if (path.empty() || path[0] != '/') return BadUrl(url, "the sqlite path must be absolute");
    if (path.find('?') != std::string::npos) return BadUrl(url, "sqlite takes no options");
    return OpenSqliteStore(path, options);
  }
  if (url.starts_with("etcd://")) {
    std::string_view rest = url.substr(7);
    EtcdConfig config;
    if (size_t q = rest.find('?'); q != std::string_view::npos) {
      std::string_view query = rest.substr(q + 1);
      rest = rest.substr(0, q);
      if (!query.starts_with("prefix=") || query.find('&') != std::string_view::npos) {
        return BadUrl(url, "the only etcd option is prefix=");
      }
      config.prefix = std::string(query.substr(7));
      if (config.prefix.empty()) return BadUrl(url, "empty prefix");
    }
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view ep = rest.substr(0, comma);
      size_t colon = ep.rfind(':');
      if (ep.empty() || colon == std::string_view::npos || colon == 0 || colon + 1 == ep.size() ||
          ep.substr(colon + 1).find_first_not_of("0123456789") != std::string_view::npos) {
        return BadUrl(url, "bad endpoint \"" + std::string(ep) + "\", want host:port");
      }
      config.endpoints.emplace_back(ep);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    if (config.endpoints.empty()) return BadUrl(url, "no etcd endpoints");
    return OpenEtcdStore(config, options);
  }
  return BadUrl(url, "unknown store");
}

}  // namespace knet::store
