#include "raft/types.h"

#include <algorithm>

#include "raft/varint.h"

namespace tessera::raft {

std::string_view message_type_name(MessageType type) {
  switch (type) {
    case MessageType::pre_vote: return "pre_vote";
    case MessageType::pre_vote_reply: return "pre_vote_reply";
    case MessageType::vote: return "vote";
    case MessageType::vote_reply: return "vote_reply";
    case MessageType::append: return "append";
    case MessageType::append_reply: return "append_reply";
    case MessageType::snapshot: return "snapshot";
    case MessageType::timeout_now: return "timeout_now";
  }
  return "unknown";
}

// One type byte, then the node id as a varint.
std::string encode_conf_change(const ConfChange& cc) {
  std::string out;
  out.push_back(static_cast<char>(cc.type));
  detail::put_varint(out, cc.node.value);
  return out;
}

Result<ConfChange> decode_conf_change(std::string_view bytes) {
  detail::Reader r(bytes);
  uint8_t type = 0;
  ConfChange cc;
  if (!r.byte(type) || type > static_cast<uint8_t>(ConfChangeType::remove) || !r.id(cc.node) ||
      !r.done()) {
    return error(Errc::corruption, "raft: conf change");
  }
  cc.type = static_cast<ConfChangeType>(type);
  return cc;
}

namespace {

bool contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::binary_search(ids.begin(), ids.end(), id);
}
void insert_sorted(std::vector<NodeId>& ids, NodeId id) {
  ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
}
void erase(std::vector<NodeId>& ids, NodeId id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

}  // namespace

Result<ConfState> apply_conf_change(const ConfState& conf, const ConfChange& cc) {
  if (cc.node == kNoNode) return error(Errc::invalid_argument, "raft: conf change for node 0");
  bool voter = contains(conf.voters, cc.node);
  bool learner = contains(conf.learners, cc.node);
  ConfState out = conf;
  switch (cc.type) {
    case ConfChangeType::add_learner:
      if (voter || learner) return error(Errc::invalid_argument, "raft: add_learner of a member");
      insert_sorted(out.learners, cc.node);
      break;
    case ConfChangeType::promote:
      if (!learner) return error(Errc::invalid_argument, "raft: promote of a non-learner");
      erase(out.learners, cc.node);
      insert_sorted(out.voters, cc.node);
      break;
    case ConfChangeType::remove:
      if (!voter && !learner) return error(Errc::invalid_argument, "raft: remove of a non-member");
      if (voter && conf.voters.size() == 1) {
        return error(Errc::invalid_argument, "raft: remove of the last voter");
      }
      erase(out.voters, cc.node);
      erase(out.learners, cc.node);
      break;
  }
  return out;
}

}  // namespace tessera::raft
