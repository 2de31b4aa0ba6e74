// File: apiserver/strategy.h
//
// Per-kind write rules, as kube-apiserver's rest strategies (PrepareForCreate,
// PrepareForUpdate): which part of an object a write may change, what the server resets, and
// when metadata.generation moves.
#pragma once

#include <string_view>

#include "api/object.h"

namespace knet::apiserver::strategy {

// Kinds whose metadata.generation counts spec changes.
bool TracksGeneration(const api::Object& obj);
// Create: resets status where clients may not set it, fills server-owned status (a Pod starts
// Pending, a Namespace Active with the "kubernetes" finalizer), and sets generation 1.
void PrepareForCreate(api::Object& obj, bool has_status_subresource);
// Update of the main resource (`subresource` "") or of "status": keeps the part the write may
// not change from `old`, and bumps generation when the spec changed.
void PrepareForUpdate(api::Object& obj, const api::Object& old, std::string_view subresource,
                      bool has_status_subresource);

}  // namespace knet::apiserver::strategy
