# Mirrors .ci/run.
ci: fmt clippy machete test clients

fmt:
    cargo fmt --all --check

clippy:
    cargo clippy --workspace --all-targets -- -D warnings

machete:
    command -v cargo-machete >/dev/null || cargo install --locked cargo-machete --version 0.9.2
    cargo machete

test:
    cargo test --workspace
    cargo run -q -p process-core --example rules
    cargo run -q -p process-runner --example embedded
    cargo run -q -p process-http --example harness

# schemathesis and dspace-rest-client against the real binary (see tests/clients/run).
clients:
    bash tests/clients/run

# Run the service with the embedded example configuration.
serve:
    cargo run -p process-http --bin processd -- serve

# What the benchmark's baselines need: nginx (nginx-light) for the download comparison.
bench-deps:
    command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get update && apt-get install -y nginx-light)

# Every benchmark scenario at full size; fails when the nginx baseline is missing.
bench: bench-deps
    cargo build --release -p process-http -p process-bench
    cargo run --release -p process-bench -- --nginx all
