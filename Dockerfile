# Multi-stage build of order-service. protoc comes from protoc-bin-vendored,
# librdkafka is built from source by rdkafka-sys; libpq is the one shared
# library the binary needs at run time.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev zlib1g-dev cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto proto
COPY migrations migrations
COPY src src
RUN cargo build --release --locked --bin order-service

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/target/release/order-service /usr/local/bin/order-service
USER 10001
ENTRYPOINT ["order-service"]
CMD ["serve"]
