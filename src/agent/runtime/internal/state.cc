#include "agent/runtime/internal/state.h"

#include <exception>

#include "agent/runtime/internal/files.h"
#include "nlohmann/json.hpp"

namespace knet::agent::runtime::internal {
namespace {

using base::StatusOr;
using nlohmann::json;

std::string TimeOrEmpty(int64_t ns) { return ns == 0 ? std::string() : FormatRfc3339Nano(ns); }

int64_t ParseTimeField(const json& j, const char* key) {
  std::string s = j.value(key, std::string());
  if (s.empty()) return 0;
  auto t = ParseRfc3339Nano(s);
  if (!t.ok()) throw std::runtime_error(t.status().message());
  return *t;
}

// Parses and converts with `fn`, turning nlohmann's exceptions into InvalidArgument.
template <typename T, typename Fn>
StatusOr<T> Decode(std::string_view text, std::string_view what, Fn fn) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) throw std::runtime_error("not a JSON object");
    return fn(j);
  } catch (const std::exception& e) {
    return base::InvalidArgumentError("decoding " + std::string(what) + ": " + e.what());
  }
}

}  // namespace

std::string EncodeSpec(const ContainerSpec& s) {
  json mounts = json::array();
  for (const auto& [host, inside] : s.file_mounts) {
    mounts.push_back({{"hostPath", host}, {"containerPath", inside}});
  }
  json j = {{"podUID", s.pod_uid},
            {"podNamespace", s.pod_namespace},
            {"podName", s.pod_name},
            {"containerName", s.container_name},
            {"attempt", s.attempt},
            {"argv", s.argv},
            {"env", s.env},
            {"workingDir", s.working_dir},
            {"netnsPath", s.netns_path},
            {"hostname", s.hostname},
            {"fileMounts", mounts},
            {"logPath", s.log_path}};
  return j.dump(2);
}

StatusOr<ContainerSpec> DecodeSpec(std::string_view text) {
  return Decode<ContainerSpec>(text, kSpecFile, [](const json& j) {
    ContainerSpec s;
    s.pod_uid = j.value("podUID", "");
    s.pod_namespace = j.value("podNamespace", "");
    s.pod_name = j.value("podName", "");
    s.container_name = j.value("containerName", "");
    s.attempt = j.value("attempt", 0);
    s.argv = j.value("argv", std::vector<std::string>{});
    s.env = j.value("env", std::vector<std::string>{});
    s.working_dir = j.value("workingDir", "");
    s.netns_path = j.value("netnsPath", "");
    s.hostname = j.value("hostname", "");
    if (j.contains("fileMounts")) {
      for (const json& m : j.at("fileMounts")) {
        s.file_mounts.emplace_back(m.at("hostPath").get<std::string>(),
                                   m.at("containerPath").get<std::string>());
      }
    }
    s.log_path = j.value("logPath", "");
    if (s.argv.empty()) throw std::runtime_error("argv is empty");
    return s;
  });
}

std::string EncodeShim(const ShimRecord& r) {
  return json{{"pid", r.pid}, {"startTime", r.start_time}}.dump();
}

StatusOr<ShimRecord> DecodeShim(std::string_view text) {
  return Decode<ShimRecord>(text, kShimFile, [](const json& j) {
    ShimRecord r;
    r.pid = j.at("pid").get<pid_t>();
    r.start_time = j.value("startTime", uint64_t{0});
    return r;
  });
}

std::string EncodeStarted(const StartedRecord& r) {
  return json{
      {"pid", r.pid}, {"pidStartTime", r.pid_start_time}, {"startedAt", TimeOrEmpty(r.started_at)}}
      .dump();
}

StatusOr<StartedRecord> DecodeStarted(std::string_view text) {
  return Decode<StartedRecord>(text, kStartedFile, [](const json& j) {
    StartedRecord r;
    r.pid = j.at("pid").get<pid_t>();
    r.pid_start_time = j.value("pidStartTime", uint64_t{0});
    r.started_at = ParseTimeField(j, "startedAt");
    return r;
  });
}

std::string EncodeExit(const ExitRecord& r) {
  return json{{"exitCode", r.exit_code},
              {"signal", r.signal},
              {"reason", r.reason},
              {"message", r.message},
              {"startedAt", TimeOrEmpty(r.started_at)},
              {"finishedAt", TimeOrEmpty(r.finished_at)}}
      .dump();
}

StatusOr<ExitRecord> DecodeExit(std::string_view text) {
  return Decode<ExitRecord>(text, kExitFile, [](const json& j) {
    ExitRecord r;
    r.exit_code = j.at("exitCode").get<int>();
    r.signal = j.value("signal", 0);
    r.reason = j.value("reason", "");
    r.message = j.value("message", "");
    r.started_at = ParseTimeField(j, "startedAt");
    r.finished_at = ParseTimeField(j, "finishedAt");
    return r;
  });
}

}  // namespace knet::agent::runtime::internal
