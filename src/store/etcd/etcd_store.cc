#include "store/etcd/etcd_store.h"

namespace knet::store {

StatusOr<std::unique_ptr<Store>> OpenEtcdStore(const EtcdConfig&, const StoreOptions&) {
  return base::UnimplementedError("etcd backend: not built yet");
}

}  // namespace knet::store
