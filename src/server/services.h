#pragma once
// Factories for the gRPC services of proto/tessera/v1/tessera.proto. Each
// service holds a reference to the Backend; requests run on gRPC's threads.

#include <memory>

namespace grpc {
class Service;
}

namespace tessera::server {

class Backend;
struct NodeInfo;

std::unique_ptr<grpc::Service> make_namespace_service(Backend& backend);
std::unique_ptr<grpc::Service> make_files_service(Backend& backend);
std::unique_ptr<grpc::Service> make_tables_service(Backend& backend);
std::unique_ptr<grpc::Service> make_streams_service(Backend& backend);
std::unique_ptr<grpc::Service> make_admin_service(Backend& backend, const NodeInfo& info);

}  // namespace tessera::server
