# Mirrors .ci/run.
ci: fmt clippy test

fmt:
    cargo fmt --all --check

clippy:
    cargo clippy --workspace --all-targets -- -D warnings

test:
    cargo test --workspace

# Run the service with the embedded example configuration.
serve:
    cargo run -p process-http --bin processd -- serve
