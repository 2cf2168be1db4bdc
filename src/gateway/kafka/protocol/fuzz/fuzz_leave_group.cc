// libFuzzer target: LeaveGroup (API key 13) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/leave_group.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kLeaveGroupMinVersion, k::kLeaveGroupMaxVersion,
                     k::decode_leave_group_request, k::encode_leave_group_request,
                     k::decode_leave_group_response, k::encode_leave_group_response);
  return 0;
}
