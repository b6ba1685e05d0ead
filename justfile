# Mirrors .ci/run.
ci: fmt clippy test clients

fmt:
    cargo fmt --all --check

clippy:
    cargo clippy --workspace --all-targets -- -D warnings

test:
    cargo test --workspace

# schemathesis and dspace-rest-client against the real binary (see tests/clients/run).
clients:
    bash tests/clients/run

# Run the service with the embedded example configuration.
serve:
    cargo run -p process-http --bin processd -- serve
