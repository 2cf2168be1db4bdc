#pragma once
// FileWriter and FileReader: the two streaming RPCs of the Files service
// (Write, client-streaming; Read, server-streaming), made by
// Connection::open_writer and Connection::open_reader.
//
// Both are used by one thread at a time and carry no deadline: a transfer
// lasts as long as it needs. Destroying one before it finished cancels the
// call. Neither buffers data beyond the message in flight.

#include <cstdint>
#include <memory>

#include "base/status.h"
#include "tessera/v1/tessera.pb.h"

namespace tessera::client {

// Largest `data` in one WriteRequest the server accepts (tessera.proto).
inline constexpr size_t kWriteMessageBytesMax = 4 << 20;

class FileWriter {
 public:
  struct State;
  explicit FileWriter(std::unique_ptr<State> state);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  // Sends one message; the first must name the path. When the server has
  // ended the call (it failed), returns that failure; finish() returns it too.
  Status send(const v1::WriteRequest& req);

  // Half-closes the stream and waits for the server's acknowledgement that
  // every piece is durable. Call once.
  Result<v1::WriteResponse> finish();

 private:
  std::unique_ptr<State> state_;
};

class FileReader {
 public:
  struct State;
  explicit FileReader(std::unique_ptr<State> state);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // Next piece of data, in order. Returns false once the file's data ended
  // successfully; an error when the call failed. Do not call after it
  // returned false or an error.
  Result<bool> next(v1::ReadResponse* out);

 private:
  std::unique_ptr<State> state_;
};

}  // namespace tessera::client
