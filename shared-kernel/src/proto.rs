//! The gRPC APIs, generated from `proto/` by the build script.

/// line-provider's API.
pub mod line {
    /// `line.v1`: `LineService` and its messages.
    pub mod v1 {
        #![allow(missing_docs, missing_debug_implementations, clippy::all)]
        tonic::include_proto!("line.v1");
    }

    /// The encoded descriptor set of `line.v1`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("line_descriptor");
}
