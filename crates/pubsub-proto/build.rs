//! Generates the `eventbus.v1` types, server and client from the official proto, with protox (a
//! pure-Rust protobuf compiler) so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The unmodified official proto, vendored with the other wire contracts in specs/.
    let proto = "../../specs/pubsub_api.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile(["pubsub_api.proto"], ["../../specs"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Methods byoc does not serve (the beta ManagedSubscribe) answer UNIMPLEMENTED.
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}
