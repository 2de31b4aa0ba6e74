// The read side of the REST layer: get, list (from the watch cache, or paginated from the store),
// watch, and table output.
#include <random>

#include "api/codec.h"
#include "apiserver/body.h"
#include "apiserver/rest.h"
#include "apiserver/table/table.h"

namespace knet::apiserver {

namespace {

constexpr auto kConsistentReadTimeout = std::chrono::seconds(10);

Result<WatchFilter> MakeFilter(const http::Request& req, const RequestInfo& info) {
  WatchFilter f;
  f.resource = info.resource;
  f.namespace_ = info.namespace_;
  if (auto ls = req.QueryParam("labelSelector"); ls && !ls->empty()) {
    auto sel = api::Selector::Parse(*ls);
    if (!sel.ok())
      return BadRequest("unable to parse requirement: " + std::string(sel.status().message()));
    f.labels = std::move(*sel);
  }
  std::string fs_text = req.QueryParam("fieldSelector").value_or("");
  if (!info.name.empty()) {
    fs_text =
        fs_text.empty() ? "metadata.name=" + info.name : fs_text + ",metadata.name=" + info.name;
  }
  if (!fs_text.empty()) {
    auto fs = FieldSelector::Parse(fs_text);
    if (!fs.ok()) return BadRequest(std::string(fs.status().message()));
    if (auto st = fs->CheckSupported(info.resource->kind); !st.ok()) {
      return BadRequest(std::string(st.message()));
    }
    f.fields = std::move(*fs);
  }
  return f;
}

table::TableOptions TableOptionsOf(const http::Request& req) {
  table::TableOptions o;
  std::string inc = req.QueryParam("includeObject").value_or("");
  if (inc == "None") o.include_object = table::IncludeObject::kNone;
  if (inc == "Object") o.include_object = table::IncludeObject::kObject;
  o.now = std::chrono::system_clock::now();
  return o;
}

Result<int64_t> ParseInt(const std::optional<std::string>& v, std::string_view name) {
  if (!v || v->empty()) return int64_t{0};
  try {
    size_t used = 0;
    int64_t n = std::stoll(*v, &used);
    if (used == v->size() && n >= 0) return n;
  } catch (const std::exception&) {
  }
  return BadRequest("invalid " + std::string(name) + " \"" + *v +
                    "\": must be a non-negative integer");
}

std::string EncodeList(const ResourceInfo& r, const std::vector<CachedPtr>& items,
                       const api::ListMeta& meta) {
  // ListMeta's fields are plain (revision numbers, store tokens in hex): written directly.
  std::string out = "{\"kind\":\"" + r.list_kind + "\",\"apiVersion\":\"" + r.ApiVersion() +
                    "\",\"metadata\":{\"resourceVersion\":\"" + meta.resource_version + "\"";
  if (!meta.continue_.empty()) out += ",\"continue\":\"" + meta.continue_ + "\"";
  if (meta.remaining_item_count) {
    out += ",\"remainingItemCount\":" + std::to_string(*meta.remaining_item_count);
  }
  out += "},\"items\":[";
  size_t size = out.size();
  for (const CachedPtr& c : items) size += c->json.size() + 1;
  out.reserve(size + 2);
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += items[i]->json;
  }
  out += "]}";
  return out;
}

std::vector<api::Object> Objects(const std::vector<CachedPtr>& items) {
  std::vector<api::Object> out;
  out.reserve(items.size());
  for (const CachedPtr& c : items) out.push_back(c->object);
  return out;
}

}  // namespace

http::Response RestHandler::Get(const http::Request& req, const RequestInfo& info) {
  Result<Stored> got = registry_->Get(*info.resource, info.namespace_, info.name);
  if (!got.ok()) return ErrorResponse(got.error());
  if (WantsTable(req.Header("accept"))) {
    api::ListMeta meta;
    meta.resource_version = api::MetaOf(got->object).resource_version;
    std::vector<api::Object> one{got->object};
    return JsonResponse(200,
                        table::EncodeTable(info.resource->kind, one, meta, TableOptionsOf(req)));
  }
  return JsonResponse(200, api::EncodeObject(got->object));
}

http::Response RestHandler::List(const http::Request& req, const RequestInfo& info) {
  Result<WatchFilter> filter = MakeFilter(req, info);
  if (!filter.ok()) return ErrorResponse(filter.error());
  Result<int64_t> limit = ParseInt(req.QueryParam("limit"), "limit");
  if (!limit.ok()) return ErrorResponse(limit.error());
  std::string cont = req.QueryParam("continue").value_or("");
  std::string rv = req.QueryParam("resourceVersion").value_or("");
  std::string match = req.QueryParam("resourceVersionMatch").value_or("");
  if (!match.empty() && match != "NotOlderThan" && match != "Exact") {
    return ErrorResponse(
        BadRequest("resourceVersionMatch must be NotOlderThan or Exact, got \"" + match + "\""));
  }
  if (!match.empty() && rv.empty()) {
    return ErrorResponse(
        BadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided"));
  }
  if (!cont.empty() && !rv.empty() && rv != "0") {
    return ErrorResponse(
        BadRequest("specifying resourceVersion is not allowed when using continue"));
  }
  Result<int64_t> rv_num =
      ParseInt(rv == "" ? std::nullopt : std::optional<std::string>(rv), "resourceVersion");
  if (!rv_num.ok()) return ErrorResponse(rv_num.error());

  std::vector<CachedPtr> items;
  api::ListMeta meta;
  const bool exact = match == "Exact";
  const bool selective = !filter->labels.Empty() || !filter->fields.Empty();
  // Lists come from the watch cache: a first page once the cache has caught up with what the
  // client must see (the store's current revision, or the resourceVersion asked for); a later
  // page if the cache is still at the first page's revision. Otherwise (the cache moved on, or
  // an exact old revision) the store is read at that revision.
  std::optional<Page> cached;
  if (!exact && cont.empty()) {
    int64_t want = *rv_num;
    if (rv.empty()) {
      auto current = store_->CurrentRevision();
      if (!current.ok()) return ErrorResponse(FromStatus(current.status()));
      want = *current;
    }
    if (want > 0) {
      if (auto st = cache_->WaitForRevision(want, kConsistentReadTimeout); !st.ok()) {
        return ErrorResponse(Timeout("Too large resource version: " + std::to_string(want) +
                                     ", current: " + std::to_string(cache_->Revision())));
      }
    }
    cached = cache_->ListPage(*filter, "", *limit, 0);
  } else if (!exact) {
    // A malformed token falls through to the store, which says what is wrong with it.
    if (auto token = store::DecodeContinueToken(cont); token.ok()) {
      cached = cache_->ListPage(*filter, token->last_key, *limit, token->revision);
    }
  }
  if (cached) {
    items = std::move(cached->items);
    meta.resource_version = std::to_string(cached->revision);
    if (cached->more) {
      // The store's own token format, so a later page can be read from the store if the cache
      // has moved on by then.
      meta.continue_ = store::EncodeContinueToken(cached->revision, cached->last_key);
      if (!selective) meta.remaining_item_count = cached->remaining;
    }
  } else {
    store::ListOptions opts;
    opts.limit = *limit;
    opts.continue_token = cont;
    if (exact) opts.revision = *rv_num;
    auto page = store_->List(StorePrefix(*info.resource, info.namespace_), opts);
    if (!page.ok()) {
      if (store::IsCompacted(page.status())) {
        return ErrorResponse(Gone(
            cont.empty() ? "The resourceVersion for the provided list is too old."
                         : "The provided continue parameter is too old to display a consistent "
                           "list result. You can start a new list without the continue "
                           "parameter."));
      }
      return ErrorResponse(FromStatus(page.status()));
    }
    for (const store::KeyValue& kv : page->items) {
      auto obj = DecodeStored(info.resource, kv);
      if (!obj.ok()) return ErrorResponse(InternalError(std::string(obj.status().message())));
      if (filter->Matches(**obj)) items.push_back(std::move(*obj));
    }
    meta.resource_version = std::to_string(page->revision);
    meta.continue_ = page->continue_token;
    if (!page->continue_token.empty() && !selective) {
      meta.remaining_item_count = page->remaining_count;
    }
  }
  if (WantsTable(req.Header("accept"))) {
    return JsonResponse(
        200, table::EncodeTable(info.resource->kind, Objects(items), meta, TableOptionsOf(req)));
  }
  return JsonResponse(200, EncodeList(*info.resource, items, meta));
}

void RestHandler::Watch(const http::Request& req, const RequestInfo& info, http::Exchange& ex) {
  Result<WatchFilter> filter = MakeFilter(req, info);
  if (!filter.ok()) return ex.Respond(ErrorResponse(filter.error()));
  std::string rv = req.QueryParam("resourceVersion").value_or("");
  Result<int64_t> from =
      ParseInt(rv.empty() ? std::nullopt : std::optional<std::string>(rv), "resourceVersion");
  if (!from.ok()) return ex.Respond(ErrorResponse(from.error()));
  Result<int64_t> timeout = ParseInt(req.QueryParam("timeoutSeconds"), "timeoutSeconds");
  if (!timeout.ok()) return ex.Respond(ErrorResponse(timeout.error()));
  if (rv.empty()) {
    // "Get state and start at most recent": the initial state must include every write so far.
    auto current = store_->CurrentRevision();
    if (current.ok()) (void)cache_->WaitForRevision(*current, kConsistentReadTimeout);
  } else if (*from > 0 && !cache_->WaitForRevision(*from, std::chrono::seconds(3)).ok()) {
    // A revision the server has not reached (a client from before a store reset): like
    // kube-apiserver, 504 after 3 s rather than a watch that silently skips what comes first.
    return ex.Respond(ErrorResponse(Timeout("Too large resource version: " + std::to_string(*from) +
                                            ", current: " + std::to_string(cache_->Revision()))));
  }
  if (*from != 0 && *from < cache_->OldestWatchableRevision()) {
    return ex.Respond(
        ErrorResponse(Gone("too old resource version: " + std::to_string(*from) + " (" +
                           std::to_string(cache_->OldestWatchableRevision()) + ")")));
  }
  WatchRequest w;
  w.filter = std::move(*filter);
  w.from_revision = *from;
  // Any strconv.ParseBool spelling of true, as for watch: the Python client sends "True".
  const std::string bookmarks = req.QueryParam("allowWatchBookmarks").value_or("");
  w.bookmarks = bookmarks == "true" || bookmarks == "1" || bookmarks == "t" || bookmarks == "T" ||
                bookmarks == "TRUE" || bookmarks == "True";
  int64_t seconds = *timeout;
  if (seconds == 0) {
    // kube-apiserver's default: a random time between 30 and 60 minutes, to spread relists.
    thread_local std::mt19937 rng{std::random_device{}()};
    seconds = std::uniform_int_distribution<int64_t>(1800, 3600)(rng);
  }
  w.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  if (WantsTable(req.Header("accept"))) {
    auto first = std::make_shared<bool>(true);
    table::TableOptions topts = TableOptionsOf(req);
    std::string kind = info.resource->kind;
    w.encoder = [first, topts, kind](std::string_view type, const CachedObject& obj) {
      table::TableOptions o = topts;
      o.no_headers = !*first;
      o.now = std::chrono::system_clock::now();
      *first = false;
      api::ListMeta meta;
      meta.resource_version = std::to_string(obj.revision);
      std::vector<api::Object> one{obj.object};
      auto line =
          std::make_shared<std::string>("{\"type\":\"" + std::string(type) + "\",\"object\":" +
                                        table::EncodeTable(kind, one, meta, o) + "}\n");
      return std::shared_ptr<const std::string>(std::move(line));
    };
  }
  std::shared_ptr<http::Stream> stream =
      ex.StartStream(200, {{"Content-Type", "application/json"}});
  w.write = [stream](std::shared_ptr<const std::string> chunk) {
    return stream->Write(std::move(chunk));
  };
  w.close = [stream] { stream->Close(); };
  Result<uint64_t> id = cache_->AddWatcher(std::move(w));
  if (!id.ok()) {
    // The window moved between the check above and now: end the stream with an ERROR event.
    stream->Write(std::make_shared<const std::string>(
        "{\"type\":\"ERROR\",\"object\":" + EncodeError(id.error()) + "}\n"));
    stream->Close();
    return;
  }
  WatchCache* cache = cache_;
  uint64_t watcher = *id;
  stream->OnClose([cache, watcher] { cache->RemoveWatcher(watcher); });
}

}  // namespace knet::apiserver
