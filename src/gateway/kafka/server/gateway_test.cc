// The Kafka gateway's pieces that need no cluster: topic naming, error
// mapping and the listener's framing (an oversized or malformed frame closes
// only that connection).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gateway/kafka/protocol/wire.h"
#include "gateway/kafka/server/errors.h"
#include "gateway/kafka/server/listener.h"
#include "gateway/kafka/server/naming.h"

namespace tessera::kafka {
namespace {

TEST(TopicNaming, PlainNamesLiveInTheDefaultStream) {
  auto t = parse_topic_name("clicks", "/kafka");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->stream, "/kafka");
  EXPECT_EQ(t->topic, "clicks");
  EXPECT_EQ(kafka_topic_name("/kafka", "clicks", "/kafka"), "clicks");
}

TEST(TopicNaming, PathNamesSplitAtTheLastColon) {
  auto t = parse_topic_name("/apps/clicks:views", "/kafka");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->stream, "/apps/clicks");
  EXPECT_EQ(t->topic, "views");
  auto colon = parse_topic_name("/a:b/c:d", "/kafka");
  ASSERT_TRUE(colon.is_ok());
  EXPECT_EQ(colon->stream, "/a:b/c");
  EXPECT_EQ(kafka_topic_name("/apps/clicks", "views", "/kafka"), "/apps/clicks:views");
}

TEST(TopicNaming, MalformedNamesAreRefusedWithTheName) {
  for (const char* bad : {"", "/apps/clicks", "/apps/clicks:", "/:t"}) {
    auto t = parse_topic_name(bad, "/kafka");
    ASSERT_FALSE(t.is_ok()) << bad;
    EXPECT_EQ(t.status().code(), Errc::invalid_argument);
    if (*bad != '\0') {
      EXPECT_NE(t.status().message().find(bad), std::string::npos) << t.status().message();
    }
  }
}

TEST(KafkaErrors, TesseraErrorsMapToKafkaCodes) {
  EXPECT_EQ(error_for(Status::ok()), KafkaError::none);
  EXPECT_EQ(error_for(Status(Errc::not_found, "x")), KafkaError::unknown_topic_or_partition);
  EXPECT_EQ(error_for(Status(Errc::permission_denied, "x")), KafkaError::topic_authorization_failed);
  EXPECT_EQ(error_for(Status(Errc::not_leader, "x")), KafkaError::not_leader_or_follower);
  EXPECT_EQ(error_for(Status(Errc::out_of_range, "x")), KafkaError::offset_out_of_range);
  EXPECT_EQ(error_for(Status(Errc::too_large, "x")), KafkaError::message_too_large);
  EXPECT_EQ(produce_error_for(Status(Errc::failed_precondition, "x")),
            KafkaError::out_of_order_sequence_number);
  EXPECT_EQ(produce_error_for(Status(Errc::version_mismatch, "x")), KafkaError::invalid_producer_epoch);
}

// Echoes each frame back; refuses a frame starting with 'X' (malformed).
class Echo final : public ConnectionHandler {
 public:
  Status handle(std::string_view frame, std::string* out) override {
    if (!frame.empty() && frame[0] == 'X') return Status(Errc::invalid_argument, "malformed");
    size_t start = begin_frame(out);
    out->append(frame);
    finish_frame(out, start);
    return Status::ok();
  }
};

int connect_to(const std::string& addr) {
  auto colon = addr.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
  ::inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

std::string framed(std::string_view payload) {
  std::string out;
  size_t start = begin_frame(&out);
  out.append(payload);
  finish_frame(&out, start);
  return out;
}

// Reads until `n` bytes or the peer closes; what arrived.
std::string read_n(int fd, size_t n) {
  std::string got;
  char buf[4096];
  while (got.size() < n) {
    ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
    if (r <= 0) break;
    got.append(buf, static_cast<size_t>(r));
  }
  return got;
}

TEST(KafkaListener, AnswersFramesInOrderAndClosesOnlyBadConnections) {
  ListenerOptions o;
  o.max_frame_bytes = 1024;
  auto l = Listener::bind("127.0.0.1:0", o);
  ASSERT_TRUE(l.is_ok()) << l.status().to_string();
  (*l)->serve([](const std::string&) { return std::make_unique<Echo>(); });

  int good = connect_to((*l)->address());
  // Two requests pipelined in one write, the second split over two writes.
  std::string two = framed("first") + framed("second");
  ASSERT_EQ(::send(good, two.data(), two.size() - 3, 0), static_cast<ssize_t>(two.size() - 3));
  ASSERT_EQ(::send(good, two.data() + two.size() - 3, 3, 0), 3);
  EXPECT_EQ(read_n(good, two.size()), two);

  int oversized = connect_to((*l)->address());
  std::string big = framed(std::string(2048, 'b'));
  ::send(oversized, big.data(), 8, 0);  // the size alone condemns it
  EXPECT_EQ(read_n(oversized, 1), "");   // closed without an answer

  int malformed = connect_to((*l)->address());
  std::string bad = framed("Xbad");
  ::send(malformed, bad.data(), bad.size(), 0);
  EXPECT_EQ(read_n(malformed, 1), "");

  // The good connection still works.
  std::string again = framed("third");
  ASSERT_EQ(::send(good, again.data(), again.size(), 0), static_cast<ssize_t>(again.size()));
  EXPECT_EQ(read_n(good, again.size()), again);
  ::close(good);
  ::close(oversized);
  ::close(malformed);
  (*l)->stop();
  EXPECT_EQ((*l)->connections(), 0);
}

TEST(KafkaListener, RefusesAnAddressInUse) {
  auto a = Listener::bind("127.0.0.1:0");
  ASSERT_TRUE(a.is_ok());
  auto b = Listener::bind((*a)->address());
  ASSERT_FALSE(b.is_ok());
  EXPECT_EQ(b.status().code(), Errc::unavailable);
  EXPECT_NE(b.status().message().find((*a)->address()), std::string::npos);
}

}  // namespace
}  // namespace tessera::kafka
