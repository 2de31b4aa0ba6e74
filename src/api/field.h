// File: api/field.h
//
// Flags for the Fields() lists of API structs (see api/internal/codec_impl.h). Scalar, list,
// map and optional fields are omitted from JSON when empty (Go's omitempty) unless flagged
// kAlways, which mirrors a Go field without omitempty: Kubernetes clients expect it present
// (e.g. ContainerPort.containerPort). Struct-valued fields are always written, as in Go.
#pragma once

namespace knet::api {

enum FieldFlags : unsigned {
  kOmitEmpty = 0,
  kAlways = 1u,
};

}  // namespace knet::api
