// File: api/object.h
//
// Object: any top-level kind knet serves, as a variant, with dispatch by apiVersion/kind.
//
//   ASSIGN_OR_RETURN(api::Object obj, api::DecodeObject(doc));
//   std::cout << api::Describe(obj);            // Service "default/web"
//   if (auto* svc = std::get_if<api::Service>(&obj)) { ... }
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/apps.h"
#include "api/codec.h"
#include "api/core.h"
#include "api/endpoint_slice.h"
#include "api/lease.h"
#include "api/meta.h"
#include "api/network_policy.h"
#include "api/node.h"
#include "api/pod.h"
#include "api/service.h"
#include "base/status.h"

namespace knet::api {

using Object = std::variant<Namespace, Node, Pod, Service, Endpoints, Event, EndpointSlice,
                            NetworkPolicy, Deployment, ReplicaSet, Lease>;

// Decodes a document whose apiVersion and kind name one of the kinds above.
// Errors: a missing apiVersion or kind, an unknown kind ("no matches for kind \"Foo\" in version
// \"v1\""), or any field error from DecodeJson.
base::StatusOr<Object> DecodeObject(const nlohmann::json& doc, const DecodeOptions& opts = {},
                                    std::vector<std::string>* warnings = nullptr);

std::string EncodeObject(const Object& obj);

ObjectMeta& MetaOf(Object& obj);
const ObjectMeta& MetaOf(const Object& obj);
std::string_view KindOf(const Object& obj);
std::string_view ApiVersionOf(const Object& obj);

// `Pod "web-1"`, or `Pod "default/web-1"` when the namespace is set.
std::string Describe(const Object& obj);

}  // namespace knet::api
