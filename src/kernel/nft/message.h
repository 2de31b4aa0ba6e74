// File: kernel/nft/message.h
//
// nf_tables netlink messages as bytes, built with libnftnl and sent by nobody here: a Transaction
// becomes one batch (NFNL_MSG_BATCH_BEGIN, one or more messages per operation, NLM_F_ACK
// on the last one only, BATCH_END),
// and rule dumps are parsed back into ListedRule. An operation may take several messages (a rule
// with an anonymous vmap is NEWSET + NEWSETELEM + NEWRULE; large element lists are split), so the
// batch says which operation each message belongs to. Pure functions, so tests compare and parse
// bytes without a kernel; LinuxNftables only sends them.
//
//   ASSIGN_OR_RETURN(Batch b, BuildBatch(tx, seq));
//   send b.bytes; an error with sequence b.first_op_seq + i is about
//   tx.ops()[b.op_of_message[i]].
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernel/nft/nft.h"

namespace knet::kernel::nft {

struct Batch {
  std::vector<uint8_t> bytes;
  uint32_t begin_seq = 0;     // BATCH_BEGIN; BATCH_END is first_op_seq + messages
  uint32_t first_op_seq = 0;  // begin_seq + 1
  size_t ops = 0;
  size_t messages = 0;                // between BEGIN and END
  std::vector<size_t> op_of_message;  // [i]: the operation message first_op_seq + i belongs to
};

// REQUIRES: Validate(tx) ok (BuildBatch calls it and returns its error).
base::StatusOr<Batch> BuildBatch(const Transaction& tx, uint32_t begin_seq);

// NFT_MSG_GETCHAIN for one chain (not a dump: the kernel answers ENOENT when it or its table is
// missing) and NFT_MSG_GETRULE dumping the rules of that chain.
std::vector<uint8_t> GetChainRequest(const ChainRef& chain, uint32_t seq);
std::vector<uint8_t> DumpRulesRequest(const ChainRef& chain, uint32_t seq);

// Parses one NFT_MSG_NEWRULE message (as a dump returns it) into its handle and comment, and the
// name of the chain it belongs to. InvalidArgument for bytes libnftnl cannot parse.
struct ParsedRule {
  std::string chain;
  ListedRule rule;
  std::vector<std::string> expr_names;  // "meta", "cmp", "payload", ... in order
};
base::StatusOr<ParsedRule> ParseRuleMessage(std::span<const uint8_t> message);

}  // namespace knet::kernel::nft
