// kafka_fuzz_seeds <dir>: writes the seed corpora of the Kafka codec fuzz
// targets under <dir> (see seed_corpus.h).
#include "gateway/kafka/protocol/fuzz/seed_corpus.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "base/assert.h"

namespace tessera::kafka::fuzz {

void SeedWriter::add(std::string_view target, std::string_view bytes) {
  const std::filesystem::path dir = root_ / std::string(target);
  std::filesystem::create_directories(dir);
  auto it = next_.try_emplace(std::string(target), 0).first;
  const std::filesystem::path file = dir / ("seed-" + std::to_string(it->second++));
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  TESSERA_ASSERT_MSG(out.good(), file.c_str());
  ++count_;
}

}  // namespace tessera::kafka::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <seed-dir>\n", argv[0]);
    return 2;
  }
  tessera::kafka::fuzz::SeedWriter w(argv[1]);
  tessera::kafka::fuzz::add_data_seeds(w);
  tessera::kafka::fuzz::add_group_seeds(w);
  tessera::kafka::fuzz::add_admin_seeds(w);
  tessera::kafka::fuzz::add_layer_seeds(w);
  std::printf("kafka_fuzz_seeds: %zu seeds in %s\n", w.count(), argv[1]);
  return 0;
}
