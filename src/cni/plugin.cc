#include "cni/plugin.h"

#include "cni/result.h"

namespace knet::cni {
namespace {

Response Fail(const Error& e, std::string_view version) { return {1, ErrorJson(e, version)}; }

}  // namespace

Response Run(const EnvLookup& env_lookup, std::string_view stdin_bytes,
             const KernelFactory& make_kernel) {
  const std::string version = ResponseVersion(stdin_bytes);
  Outcome<Environment> env = ParseEnvironment(env_lookup);
  if (!env.ok()) return Fail(env.error(), version);
  const Command command = env.value().command;
  if (command == Command::kVersion) {
    VersionResult r = HandleVersion(stdin_bytes);
    if (!r.ok) return Fail(r.error, version);
    return {0, r.json};
  }
  Outcome<NetConf> conf = ParseNetConf(stdin_bytes, command);
  if (!conf.ok()) return Fail(conf.error(), version);
  base::StatusOr<KernelHandle> handle = make_kernel();
  if (!handle.ok()) {
    return Fail({ErrorCode::kKernelFailure, "opening netlink in the host namespace",
                 handle.status().message()},
                version);
  }
  Kernel& kernel = handle->kernel;
  switch (command) {
    case Command::kAdd: {
      Outcome<nlohmann::json> r = Add(conf.value(), env.value(), kernel);
      if (!r.ok()) return Fail(r.error(), version);
      return {0, RenderResult(r.value(), version).dump(2) + "\n"};
    }
    case Command::kDel: {
      Outcome<bool> r = Del(conf.value(), env.value(), kernel);
      if (!r.ok()) return Fail(r.error(), version);
      return {0, ""};
    }
    case Command::kCheck: {
      Outcome<bool> r = Check(conf.value(), env.value(), kernel);
      if (!r.ok()) return Fail(r.error(), version);
      return {0, ""};
    }
    case Command::kStatus: {
      Outcome<bool> r = Status(conf.value(), kernel);
      if (!r.ok()) return Fail(r.error(), version);
      return {0, ""};
    }
    case Command::kGc: {
      Outcome<bool> r = Gc(conf.value(), kernel);
      if (!r.ok()) return Fail(r.error(), version);
      return {0, ""};
    }
    case Command::kVersion:
      break;
  }
  return Fail({ErrorCode::kInvalidEnvironment, "unhandled CNI_COMMAND", ""}, version);
}

}  // namespace knet::cni
