#include "apiserver/patch/internal/list_order.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace knet::apiserver::patch::patch_internal {
namespace {

using nlohmann::json;

// Position of `e` in `list`, or -1.
long IndexOf(const json& list, const json& e, std::string_view merge_key) {
  long i = 0;
  for (const json& x : list) {
    if (SameElement(x, e, merge_key)) return i;
    ++i;
  }
  return -1;
}

struct Item {
  const json* value;
  long order_index;  // in `order`, -1 when absent
  long live_index;   // in `live`, -1 when absent
};

}  // namespace

bool SameElement(const json& a, const json& b, std::string_view merge_key) {
  if (merge_key.empty()) return a == b;
  if (!a.is_object() || !b.is_object()) return false;
  const std::string key(merge_key);
  auto ia = a.find(key);
  auto ib = b.find(key);
  return ia != a.end() && ib != b.end() && *ia == *ib;
}

json NormalizeElementOrder(const json& merged, const json& order, const json& live,
                           std::string_view merge_key) {
  std::vector<Item> patch_items;
  std::vector<Item> server_items;
  for (const json& e : merged) {
    Item item{&e, IndexOf(order, e, merge_key), IndexOf(live, e, merge_key)};
    (item.order_index >= 0 ? patch_items : server_items).push_back(item);
  }
  std::stable_sort(patch_items.begin(), patch_items.end(),
                   [](const Item& a, const Item& b) { return a.order_index < b.order_index; });
  // Server-only elements by live position; those not in the live list last.
  std::stable_sort(server_items.begin(), server_items.end(), [](const Item& a, const Item& b) {
    if (a.live_index < 0) return false;
    return b.live_index < 0 || a.live_index < b.live_index;
  });
  // Interleave (upstream mergeSortedSlice): a server-only element goes before the next patch
  // element only when both are in the live list and it came first there.
  json out = json::array();
  size_t i = 0;
  size_t j = 0;
  while (i < server_items.size() || j < patch_items.size()) {
    bool take_server = j >= patch_items.size();
    if (!take_server && i < server_items.size()) {
      const Item& s = server_items[i];
      const Item& p = patch_items[j];
      take_server = s.live_index >= 0 && p.live_index >= 0 && s.live_index < p.live_index;
    }
    out.push_back(take_server ? *server_items[i++].value : *patch_items[j++].value);
  }
  return out;
}

}  // namespace knet::apiserver::patch::patch_internal
