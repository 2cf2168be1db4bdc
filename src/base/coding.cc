#include "base/coding.h"

namespace tessera {

std::string prefix_successor(std::string_view p) {
  std::string s(p);
  while (!s.empty()) {
    auto c = static_cast<unsigned char>(s.back());
    if (c != 0xff) {
      s.back() = static_cast<char>(c + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

}  // namespace tessera
