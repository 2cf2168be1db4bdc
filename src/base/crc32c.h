#pragma once
// CRC-32C (Castagnoli), the checksum on every persisted record.

#include <cstdint>
#include <string_view>

namespace tessera {

// Extends `crc` (0 to start) over `data`.
uint32_t crc32c_extend(uint32_t crc, std::string_view data);
inline uint32_t crc32c(std::string_view data) { return crc32c_extend(0, data); }

}  // namespace tessera
