// Private to kernel/nft: lowering of the expression IR (nft.h) to nf_tables expressions, and the
// byte layout of set keys and data (a single field unpadded; in a concatenation each field padded
// to 32 bits, the register layout; addresses and ports in network order, integers in host order).
#pragma once

#include <libnftnl/rule.h>

#include <cstdint>
#include <vector>

#include "kernel/nft/nft.h"

namespace knet::kernel::nft::internal {

// Appends `expr` to `rule` for a table of `table_family`. `anon_set_id`: the NFTA_SET_ID of the
// anonymous map built for a Vmap with inline elements (0 if none).
void AddExpr(nftnl_rule* rule, Family table_family, const Expr& expr, uint32_t anon_set_id);

std::vector<uint8_t> Encode(const std::vector<Value>& values);
uint32_t TypesLen(const std::vector<DataType>& types);  // NFTA_SET_KEY_LEN / DATA_LEN
uint32_t TypesId(const std::vector<DataType>& types);   // nft's (concatenated) type id
DataType FieldType(const KeyPart& k);
uint32_t VerdictCode(Verdict::Kind k);  // NF_ACCEPT, NFT_GOTO, ...

}  // namespace knet::kernel::nft::internal
