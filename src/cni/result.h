// File: cni/result.h
//
// The CNI result ({"cniVersion", "interfaces", "ips", "routes", "dns"}) in the versions knet-cni
// speaks. Internally a result is kept in 1.x form (ips without "version"); ParseResult reads a
// prevResult of any supported version into that form, RenderResult writes it for the version the
// runtime asked for (0.4.0 puts "version": "4"/"6" into every ips entry; 1.0.0 and 1.1.0 do not).
//
//   Outcome<nlohmann::json> prev = ParseResult(conf.prev_result);   // chained plugins
//   std::cout << RenderResult(result, "0.4.0").dump();
//
// Free functions: thread-compatible.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "cni/spec.h"

namespace knet::cni {

// An empty 1.x-form result: {"interfaces": [], "ips": [], "routes": [], "dns": {}}.
nlohmann::json EmptyResult();

// Validates a prevResult and returns it in 1.x form (every list present, ips without "version").
// Checks the shape the spec gives: interfaces[] with a string name; ips[] with an "address" CIDR
// and an "interface" index inside interfaces; routes[] with a "dst" CIDR. Errors: code 7 naming
// the entry.
Outcome<nlohmann::json> ParseResult(const nlohmann::json& prev_result);

// The result as the runtime expects it for `version`.
nlohmann::json RenderResult(const nlohmann::json& result, std::string_view version);

}  // namespace knet::cni
