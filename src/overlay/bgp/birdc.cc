#include "overlay/bgp/birdc.h"

#include <chrono>
#include <sstream>

#include "agent/process/process.h"

namespace knet::overlay::bgp {
namespace {

// One reply line of birdc's verbose mode: "1002-device1 Device ..." or a continuation
// " knet_pods Static ..." (code 0: same as the previous line).
struct ReplyLine {
  int code = 0;
  std::string text;
};

std::vector<ReplyLine> SplitReply(std::string_view output) {
  std::vector<ReplyLine> lines;
  std::istringstream in{std::string(output)};
  std::string line;
  int last = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ReplyLine r;
    if (line.size() >= 5 && std::isdigit(static_cast<unsigned char>(line[0])) &&
        std::isdigit(static_cast<unsigned char>(line[1])) &&
        std::isdigit(static_cast<unsigned char>(line[2])) &&
        std::isdigit(static_cast<unsigned char>(line[3])) && (line[4] == ' ' || line[4] == '-')) {
      r.code = std::stoi(line.substr(0, 4));
      r.text = line.substr(5);
      last = r.code;
    } else {
      r.code = last;
      r.text = line.substr(line[0] == ' ' ? 1 : 0);
    }
    lines.push_back(std::move(r));
  }
  return lines;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

}  // namespace

base::Status CheckReply(std::string_view command, std::string_view output) {
  std::string errors;
  bool any = false;
  for (const auto& l : SplitReply(output)) {
    any = true;
    // BIRD's reply codes: 0xxx actions done, 1xxx tables, 2xxx table headers, 8xxx run-time
    // errors, 9xxx parse errors of the command.
    if (l.code >= 8000) errors += (errors.empty() ? "" : "; ") + Trim(l.text);
  }
  if (!errors.empty()) {
    return base::FailedPreconditionError("birdc " + std::string(command) + ": " + errors);
  }
  if (!any) return base::UnavailableError("birdc " + std::string(command) + ": no reply from bird");
  return base::OkStatus();
}

base::StatusOr<std::vector<BirdProtocol>> ParseShowProtocols(std::string_view output) {
  RETURN_IF_ERROR(CheckReply("show protocols", output));
  std::vector<BirdProtocol> out;
  for (const auto& l : SplitReply(output)) {
    if (l.code != 1002) continue;  // 1002: the protocol table's rows
    std::istringstream fields(l.text);
    BirdProtocol p;
    if (!(fields >> p.name >> p.proto >> p.table >> p.state >> p.since)) {
      return base::InvalidArgumentError("birdc show protocols: unexpected row \"" + l.text + "\"");
    }
    std::string rest;
    std::getline(fields, rest);
    p.info = Trim(rest);
    out.push_back(std::move(p));
  }
  return out;
}

base::StatusOr<std::string> Birdc::Run(const std::string& command) const {
  agent::process::SpawnOptions o;
  o.argv = {birdc_path_, "-v", "-s", socket_path_};
  std::istringstream words(command);
  for (std::string w; words >> w;) o.argv.push_back(w);
  auto r = agent::process::Run(o, "", std::chrono::seconds(10));
  if (!r.ok()) return r.status().WithContext("birdc " + command);
  if (r->timed_out) {
    return base::DeadlineExceededError("birdc -s " + socket_path_ + " " + command +
                                       ": no answer within 10 s");
  }
  std::string all = r->out + r->err;
  if (all.find("Unable to connect") != std::string::npos) {
    return base::UnavailableError("birdc -s " + socket_path_ + " " + command + ": " + Trim(r->err));
  }
  RETURN_IF_ERROR(CheckReply(command, r->out));
  if (r->exit_code != 0 && r->exit_code != 1) {
    return base::InternalError("birdc " + command + ": exit code " + std::to_string(r->exit_code) +
                               ": " + Trim(all));
  }
  return r->out;
}

base::Status Birdc::Configure() const { return Run("configure").status(); }

base::StatusOr<std::vector<BirdProtocol>> Birdc::ShowProtocols() const {
  ASSIGN_OR_RETURN(std::string out, Run("show protocols"));
  return ParseShowProtocols(out);
}

}  // namespace knet::overlay::bgp
