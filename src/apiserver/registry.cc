#include "apiserver/registry.h"

#include <algorithm>
#include <random>
#include <variant>

#include "api/defaults.h"
#include "api/json.h"
#include "api/validation.h"
#include "apiserver/service_allocation.h"
#include "apiserver/strategy.h"

namespace knet::apiserver {

namespace {

// kube-apiserver retries storage conflicts without a bound; 10 was too few for 8 concurrent
// patchers (a patch without a resourceVersion then failed with 409). A bound still guards
// against a conflict that can never resolve.
constexpr int kMaxConflictRetries = 100;

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const ResourceInfo& NamespacesResource() { return *FindResource("", "v1", "namespaces"); }

std::optional<ApiError> CheckKind(const ResourceInfo& r, const api::Object& obj) {
  if (api::KindOf(obj) != r.kind || api::ApiVersionOf(obj) != r.ApiVersion()) {
    return BadRequest("the object's kind " + std::string(api::ApiVersionOf(obj)) + "/" +
                      std::string(api::KindOf(obj)) + " does not match the resource " + r.resource +
                      " (" + r.ApiVersion() + "/" + r.kind + ")");
  }
  return std::nullopt;
}

// Keeps the system fields of `old` that no client write may change.
void KeepSystemMeta(api::ObjectMeta& m, const api::ObjectMeta& old) {
  m.uid = old.uid;
  m.creation_timestamp = old.creation_timestamp;
  m.deletion_timestamp = old.deletion_timestamp;
  m.deletion_grace_period_seconds = old.deletion_grace_period_seconds;
  m.generate_name = old.generate_name;
  m.self_link.clear();
}

bool IsTerminalPod(const api::Pod& p) {
  return p.status.phase == "Succeeded" || p.status.phase == "Failed";
}

}  // namespace

std::string EncodeForStore(api::Object obj) {
  api::MetaOf(obj).resource_version.clear();
  return api::EncodeObject(obj);
}

std::string NewUid() {
  std::uniform_int_distribution<uint64_t> dist;
  uint64_t hi = dist(Rng());
  uint64_t lo = dist(Rng());
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string RandomSuffix() {
  // k8s.io/apimachinery/pkg/util/rand: no vowels (no words), no confusable characters.
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::uniform_int_distribution<size_t> dist(0, kAlphabet.size() - 1);
  std::string out;
  for (int i = 0; i < 5; ++i) out.push_back(kAlphabet[dist(Rng())]);
  return out;
}

Result<Stored> Registry::Read(const ResourceInfo& r, std::string_view ns, std::string_view name,
                              store::KeyValue* kv) {
  auto got = store_->Get(StoreKey(r, ns, name));
  if (!got.ok()) return FromStatus(got.status(), &r, name);
  auto decoded = DecodeStored(&r, *got);
  if (!decoded.ok()) return InternalError(std::string(decoded.status().message()));
  if (kv != nullptr) *kv = std::move(*got);
  return Stored{(*decoded)->object, (*decoded)->revision};
}

Result<Stored> Registry::Get(const ResourceInfo& r, std::string_view ns, std::string_view name) {
  return Read(r, ns, name, nullptr);
}

std::optional<ApiError> Registry::CheckNamespace(const ResourceInfo& r, std::string_view ns) {
  if (!r.namespaced) return std::nullopt;
  if (ns.empty()) return BadRequest("a namespace is required to create " + r.resource);
  auto got = Read(NamespacesResource(), "", ns, nullptr);
  if (!got.ok()) {
    if (got.error().code == 404) return NotFound(NamespacesResource(), ns);
    return got.error();
  }
  const auto& n = std::get<api::Namespace>(got->object);
  if (!n.metadata.deletion_timestamp.IsZero() || n.status.phase == "Terminating") {
    return Forbidden(&r, "",
                     "unable to create new content in namespace " + std::string(ns) +
                         " because it is being terminated");
  }
  return std::nullopt;
}

Result<Stored> Registry::Create(const ResourceInfo& r, std::string_view ns, api::Object obj,
                                const WriteOptions& opts) {
  if (auto e = CheckKind(r, obj)) return *e;
  api::ObjectMeta& m = api::MetaOf(obj);
  if (r.namespaced) {
    if (m.namespace_.empty()) m.namespace_ = std::string(ns);
    if (m.namespace_ != ns) {
      return BadRequest("the namespace of the provided object (" + m.namespace_ +
                        ") does not match the namespace sent on the request (" + std::string(ns) +
                        ")");
    }
  } else {
    m.namespace_.clear();
  }
  if (m.name.empty() && !m.generate_name.empty()) {
    // As upstream's SimpleNameGenerator: the base is cut to 58 characters so that base + the
    // 5-character suffix still fits the 63 of a DNS label.
    m.name = m.generate_name.substr(0, 58) + RandomSuffix();
  }
  if (auto e = CheckNamespace(r, m.namespace_)) return *e;
  m.uid = NewUid();
  m.creation_timestamp = api::Time::FromUnixSeconds(api::Time::Now().unix_seconds());
  m.resource_version.clear();
  m.self_link.clear();
  m.deletion_timestamp = {};
  m.deletion_grace_period_seconds.reset();
  m.generation = 0;
  strategy::PrepareForCreate(obj, r.HasSubresource("status"));
  api::SetDefaults(obj);
  std::vector<api::FieldError> errs = api::ValidateObject(obj);
  if (!errs.empty()) return Invalid(r.kind, &r, m.name, errs);

  std::optional<ServiceAllocation> alloc;
  if (auto* svc = std::get_if<api::Service>(&obj)) {
    // An existing Service is AlreadyExists, not a clash of the IPs it holds.
    if (store_->Get(StoreKey(r, m.namespace_, m.name)).ok()) return AlreadyExists(r, m.name);
    alloc.emplace(ips_, ports_);
    errs = alloc->Allocate(*svc, nullptr);
    if (!errs.empty()) return Invalid(r.kind, &r, m.name, errs);
  }
  if (opts.dry_run) return Stored{std::move(obj), 0};  // allocations roll back
  std::string key = StoreKey(r, m.namespace_, m.name);
  auto rev = store_->Create(key, EncodeForStore(obj));
  if (!rev.ok()) return FromStatus(rev.status(), &r, api::MetaOf(obj).name);
  if (alloc) alloc->Commit();
  api::MetaOf(obj).resource_version = std::to_string(*rev);
  return Stored{std::move(obj), *rev, true};
}

std::optional<ApiError> Registry::PrepareUpdate(const ResourceInfo& r, const api::Object& old,
                                                api::Object& obj, const WriteOptions& opts) {
  if (auto e = CheckKind(r, obj)) return *e;
  api::ObjectMeta& m = api::MetaOf(obj);
  const api::ObjectMeta& om = api::MetaOf(old);
  if (m.name != om.name) {
    return BadRequest("the name of the object (" + m.name +
                      ") does not match the name on the URL (" + om.name + ")");
  }
  if (r.namespaced && m.namespace_.empty()) m.namespace_ = om.namespace_;
  if (m.namespace_ != om.namespace_) {
    return BadRequest("the namespace of the provided object (" + m.namespace_ +
                      ") does not match the namespace sent on the request (" + om.namespace_ + ")");
  }
  if (!m.uid.empty() && m.uid != om.uid) {
    return Conflict(
        r, m.name,
        "Precondition failed: UID in precondition: " + m.uid + ", UID in object meta: " + om.uid);
  }
  KeepSystemMeta(m, om);
  strategy::PrepareForUpdate(obj, old, opts.subresource, r.HasSubresource("status"));
  // Once deletion has started, finalizers may be removed but no new ones added.
  if (!om.deletion_timestamp.IsZero()) {
    for (const std::string& f : api::MetaOf(obj).finalizers) {
      if (!Contains(om.finalizers, f)) {
        return Invalid(r.kind, &r, om.name,
                       {{api::FieldError::kForbidden, "metadata.finalizers", "",
                         "no new finalizers can be added if the object is being deleted, found "
                         "new finalizers [\"" +
                             f + "\"]"}});
      }
    }
  }
  api::SetDefaults(obj);
  std::vector<api::FieldError> errs = api::ValidateObject(obj);
  if (!errs.empty()) return Invalid(r.kind, &r, om.name, errs);
  return std::nullopt;
}

Result<Stored> Registry::WriteUpdate(const ResourceInfo& r, std::string_view ns,
                                     std::string_view name, const store::KeyValue& current,
                                     const api::Object& old, api::Object obj,
                                     const WriteOptions& opts) {
  if (auto e = PrepareUpdate(r, old, obj, opts)) return *e;
  std::optional<ServiceAllocation> alloc;
  if (auto* svc = std::get_if<api::Service>(&obj)) {
    alloc.emplace(ips_, ports_);
    auto errs = alloc->Allocate(*svc, &std::get<api::Service>(old));
    if (!errs.empty()) return Invalid(r.kind, &r, name, errs);
  }
  const api::ObjectMeta& m = api::MetaOf(obj);
  if (opts.dry_run) return Stored{std::move(obj), current.mod_revision};
  // The last finalizer of an object being deleted is gone: the deletion completes now.
  if (!m.deletion_timestamp.IsZero() && m.finalizers.empty() &&
      m.deletion_grace_period_seconds.value_or(0) == 0) {
    auto removed = Remove(r, current.key, obj, current.mod_revision);
    if (!removed.ok()) return removed.error();
    return removed;
  }
  std::string stored = EncodeForStore(obj);
  if (stored == current.value) {
    // No change: like kube-apiserver, do not write (the resourceVersion stays).
    api::MetaOf(obj).resource_version = std::to_string(current.mod_revision);
    if (alloc) alloc->Commit();
    return Stored{std::move(obj), current.mod_revision};
  }
  auto rev = store_->Update(current.key, stored, current.mod_revision);
  if (!rev.ok()) return FromStatus(rev.status(), &r, name);
  if (alloc) alloc->Commit();
  (void)ns;
  api::MetaOf(obj).resource_version = std::to_string(*rev);
  return Stored{std::move(obj), *rev};
}

Result<Stored> Registry::Update(const ResourceInfo& r, std::string_view ns, std::string_view name,
                                api::Object obj, const WriteOptions& opts) {
  store::KeyValue current;
  auto old = Read(r, ns, name, &current);
  if (!old.ok()) {
    // PUT of a missing object creates it for the kinds kube-apiserver allows that for.
    bool create_on_update = r.resource == "endpoints" || r.resource == "events" ||
                            r.resource == "leases" || r.resource == "endpointslices";
    if (old.error().code == 404 && create_on_update && opts.subresource.empty()) {
      if (api::MetaOf(obj).name != name) {
        return BadRequest("the name of the object (" + api::MetaOf(obj).name +
                          ") does not match the name on the URL (" + std::string(name) + ")");
      }
      auto created = Create(r, ns, obj, opts);
      // Another PUT created it first: like kube-apiserver, this one is now an update.
      if (!created.ok() && created.error().reason == "AlreadyExists") {
        return Update(r, ns, name, std::move(obj), opts);
      }
      return created;
    }
    return old.error();
  }
  const std::string& rv = api::MetaOf(obj).resource_version;
  if (rv.empty()) {
    // No resourceVersion: an unconditional update (kube-apiserver's AllowUnconditionalUpdate),
    // applied over whatever is stored and retried on storage conflicts, never a 409.
    return GuaranteedUpdate(
        r, ns, name,
        [&obj](api::Object& o) -> std::optional<ApiError> {
          o = obj;
          return std::nullopt;
        },
        opts);
  }
  if (rv != std::to_string(current.mod_revision)) {
    return Conflict(r, name,
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again");
  }
  return WriteUpdate(r, ns, name, current, old->object, std::move(obj), opts);
}

Result<Stored> Registry::GuaranteedUpdate(const ResourceInfo& r, std::string_view ns,
                                          std::string_view name, const Mutation& mutate,
                                          const WriteOptions& opts) {
  for (int attempt = 0;; ++attempt) {
    store::KeyValue current;
    auto old = Read(r, ns, name, &current);
    if (!old.ok()) return old.error();
    api::Object obj = old->object;
    if (auto e = mutate(obj)) return *e;
    // A resourceVersion the mutation put in (a patch that names one) is a precondition.
    const std::string& rv = api::MetaOf(obj).resource_version;
    if (!rv.empty() && rv != std::to_string(current.mod_revision)) {
      return Conflict(r, name,
                      "the object has been modified; please apply your changes to the latest "
                      "version and try again");
    }
    auto out = WriteUpdate(r, ns, name, current, old->object, std::move(obj), opts);
    if (out.ok() || out.error().reason != "Conflict" || attempt >= kMaxConflictRetries) {
      return out;
    }
  }
}

Result<Stored> Registry::Remove(const ResourceInfo& r, const std::string& key,
                                const api::Object& obj, int64_t mod_revision) {
  auto del = store_->Delete(key, mod_revision);
  if (!del.ok()) return FromStatus(del.status(), &r, api::MetaOf(obj).name);
  if (const auto* svc = std::get_if<api::Service>(&obj)) ReleaseService(*svc, ips_, ports_);
  api::Object gone = obj;
  api::MetaOf(gone).resource_version = std::to_string(del->revision);
  return Stored{std::move(gone), del->revision};
}

Result<DeleteOutcome> Registry::Delete(const ResourceInfo& r, std::string_view ns,
                                       std::string_view name, const DeleteOptions& opts) {
  if (r.resource == "namespaces" &&
      (name == "default" || name == "kube-system" || name == "kube-public")) {
    return Forbidden(
        &r, name,
        "namespaces \"" + std::string(name) + "\" is forbidden: this namespace may not be deleted");
  }
  for (int attempt = 0;; ++attempt) {
    store::KeyValue current;
    auto old = Read(r, ns, name, &current);
    if (!old.ok()) return old.error();
    api::Object obj = old->object;
    api::ObjectMeta& m = api::MetaOf(obj);
    if (!opts.precondition_uid.empty() && opts.precondition_uid != m.uid) {
      return Conflict(r, name,
                      "Precondition failed: UID in precondition: " + opts.precondition_uid +
                          ", UID in object meta: " + m.uid);
    }
    if (!opts.precondition_resource_version.empty() &&
        opts.precondition_resource_version != m.resource_version) {
      return Conflict(r, name,
                      "Precondition failed: ResourceVersion in precondition: " +
                          opts.precondition_resource_version +
                          ", ResourceVersion in object meta: " + m.resource_version);
    }
    // Propagation: Orphan and Foreground are finalizers that the garbage collector honours.
    std::string policy = opts.propagation_policy;
    if (policy.empty() && opts.orphan_dependents.has_value()) {
      policy = *opts.orphan_dependents ? "Orphan" : "Background";
    }
    bool changed = false;
    auto add_finalizer = [&](const char* f) {
      if (!Contains(m.finalizers, f)) {
        m.finalizers.push_back(f);
        changed = true;
      }
    };
    if (policy == "Orphan") add_finalizer("orphan");
    if (policy == "Foreground") add_finalizer("foregroundDeletion");
    // Graceful deletion: a running pod on a node gets a deletion timestamp in the future and is
    // removed by its node agent (or by the garbage collector if its node is gone).
    int64_t grace = 0;
    if (auto* pod = std::get_if<api::Pod>(&obj)) {
      grace = opts.grace_period_seconds.value_or(
          pod->spec.termination_grace_period_seconds.value_or(30));
      if (pod->spec.node_name.empty() || IsTerminalPod(*pod)) grace = 0;
      grace = std::max<int64_t>(grace, 0);
    }
    bool is_namespace = r.resource == "namespaces";
    bool already_deleting = !m.deletion_timestamp.IsZero();
    if (!already_deleting && (grace > 0 || !m.finalizers.empty() || is_namespace)) {
      api::Time now = api::Time::FromUnixSeconds(api::Time::Now().unix_seconds());
      m.deletion_timestamp = api::Time::FromUnixSeconds(now.unix_seconds() + grace);
      m.deletion_grace_period_seconds = grace;
      if (auto* n = std::get_if<api::Namespace>(&obj)) n->status.phase = "Terminating";
      changed = true;
    } else if (already_deleting && grace < m.deletion_grace_period_seconds.value_or(0)) {
      // A shorter grace period (e.g. --grace-period=0 --force) takes effect.
      m.deletion_timestamp = api::Time::FromUnixSeconds(api::Time::Now().unix_seconds() + grace);
      m.deletion_grace_period_seconds = grace;
      changed = true;
    }
    bool pending =
        !m.finalizers.empty() || is_namespace || m.deletion_grace_period_seconds.value_or(0) > 0;
    if (!pending) {
      if (opts.dry_run) return DeleteOutcome{std::nullopt, *old};
      auto removed = Remove(r, current.key, old->object, current.mod_revision);
      if (removed.ok()) return DeleteOutcome{std::nullopt, *removed};
      if (removed.error().reason == "Conflict" && attempt < kMaxConflictRetries) continue;
      return removed.error();
    }
    if (!changed || opts.dry_run) return DeleteOutcome{*old, {}};
    auto rev = store_->Update(current.key, EncodeForStore(obj), current.mod_revision);
    if (!rev.ok()) {
      if (rev.status().code() == base::StatusCode::kAborted && attempt < kMaxConflictRetries) {
        continue;
      }
      return FromStatus(rev.status(), &r, name);
    }
    m.resource_version = std::to_string(*rev);
    return DeleteOutcome{Stored{std::move(obj), *rev}, {}};
  }
}

Result<Stored> Registry::ForceRemove(const ResourceInfo& r, std::string_view ns,
                                     std::string_view name) {
  store::KeyValue current;
  auto old = Read(r, ns, name, &current);
  if (!old.ok()) return old.error();
  return Remove(r, current.key, old->object, current.mod_revision);
}

base::Status Registry::RebuildAllocations() {
  const ResourceInfo& services = *FindResource("", "v1", "services");
  WatchFilter filter;
  filter.resource = &services;
  Snapshot snap = cache_->List(filter);
  for (const CachedPtr& c : snap.items) {
    MarkService(std::get<api::Service>(c->object), ips_, ports_);
  }
  return base::OkStatus();
}

}  // namespace knet::apiserver
