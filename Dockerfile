# Multi-stage build of order-service. protoc comes from protoc-bin-vendored,
# librdkafka is built from source by rdkafka-sys with the features of
# Cargo.toml (TLS and SASL through OpenSSL, zstd, gzip, lz4, snappy); libpq
# and OpenSSL are the shared libraries the binary needs at run time.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev libssl-dev zlib1g-dev cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto proto
COPY migrations migrations
COPY src src
RUN cargo build --release --locked --bin order-service

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libssl3 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/target/release/order-service /usr/local/bin/order-service
USER 10001
# In a container the API listens on every interface (the binary's default
# is loopback).
ENV HTTP_ADDR=0.0.0.0:8080
ENTRYPOINT ["order-service"]
CMD ["serve"]
